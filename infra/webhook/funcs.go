package webhook

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"text/template"
)

// funcs are the template functions available in rules (docs/webhooks.md
// lists them). Functions taking the piped value take it last so pipelines
// read naturally: {{.Body.name | replace "/" "."}}.
func funcs() template.FuncMap {
	return template.FuncMap{
		"lower":      func(v any) string { return strings.ToLower(str(v)) },
		"upper":      func(v any) string { return strings.ToUpper(str(v)) },
		"trim":       func(v any) string { return strings.TrimSpace(str(v)) },
		"replace":    func(old, new string, v any) string { return strings.ReplaceAll(str(v), old, new) },
		"trimPrefix": func(p string, v any) string { return strings.TrimPrefix(str(v), p) },
		"trimSuffix": func(s string, v any) string { return strings.TrimSuffix(str(v), s) },
		"hasPrefix":  func(p string, v any) bool { return strings.HasPrefix(str(v), p) },
		"contains":   func(sub string, v any) bool { return strings.Contains(str(v), sub) },
		"split":      func(sep string, v any) []string { return strings.Split(str(v), sep) },
		"join":       join,
		"str":        str,
		"json":       toJSON,
		"get":        func(path string, v any) any { return lookup(v, path) },
		"default":    func(def, v any) any { return coalesce(v, def) },
		"coalesce":   coalesce,
		"seg":        segment,
		"money":      money,
	}
}

// str renders a decoded JSON value as text: "" for null or missing, the
// exact digits for numbers, compact JSON for objects and arrays.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []string:
		return strings.Join(x, ",")
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// toJSON encodes v as JSON for data templates; it never fails the render
// (an unencodable value becomes null).
func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func join(sep string, v any) string {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, sep)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		return strings.Join(parts, sep)
	}
	return str(v)
}

// coalesce returns the first argument that is not empty (null, "", false).
func coalesce(vs ...any) any {
	for _, v := range vs {
		if s := str(v); s != "" && s != "false" {
			return v
		}
	}
	return nil
}

// segment makes v a valid topic segment: every byte outside
// [A-Za-z0-9_.@-] becomes '-', so "Team Payments/EU" -> "Team-Payments-EU".
func segment(v any) string {
	s := str(v)
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '@' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// zeroDecimal are the currencies Stripe counts in whole units.
const zeroDecimal = " bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf "

// money formats a Stripe-style amount in the currency's smallest unit:
// money 4999 "usd" -> "49.99 USD", money 500 "jpy" -> "500 JPY".
func money(amount, currency any) string {
	cur := strings.ToLower(str(currency))
	r, ok := new(big.Rat).SetString(str(amount))
	if !ok {
		return strings.TrimSpace(str(amount) + " " + strings.ToUpper(cur))
	}
	digits := 2
	if strings.Contains(zeroDecimal, " "+cur+" ") {
		digits = 0
	}
	if digits == 2 {
		r.Quo(r, big.NewRat(100, 1))
	}
	return strings.TrimSpace(r.FloatString(digits) + " " + strings.ToUpper(cur))
}
