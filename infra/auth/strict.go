package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkStrict refuses what jwt's decoder lets through although another
// reader of the same token would read it differently (I2 of the 2026-12
// review). It runs after the signature has been verified, so it costs an
// attacker a valid signature to reach, and reads the two segments jwt has
// already decoded once:
//   - a "crit" header: RFC 7515 §4.1.11 says a recipient must refuse a
//     token whose crit names an extension it does not understand, and this
//     relay understands none;
//   - a duplicate member name in the header or the claims, compared the
//     way encoding/json matches struct fields (case-insensitively), since
//     jwt keeps the last value while other parsers keep the first;
//   - exp, nbf or iat that is not a JSON number: jwt accepts "123" as 123,
//     RFC 7519 §2 says NumericDate is a number.
func checkStrict(token string) error {
	header, payload, ok := strings.Cut(token, ".")
	if !ok {
		return errors.New("malformed")
	}
	payload, _, _ = strings.Cut(payload, ".")
	h, err := segmentMembers(header)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if _, ok := h["CRIT"]; ok {
		return errors.New("crit header names extensions this relay does not implement")
	}
	c, err := segmentMembers(payload)
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := c[foldKey(name)]; ok && !isJSONNumber(v) {
			return fmt.Errorf("%s is not a number", name)
		}
	}
	return nil
}

// segmentMembers decodes one base64url segment holding a JSON object and
// returns its members by folded name, refusing duplicates. Only the top
// level is checked: the claims hookrelay reads are all top-level members.
func segmentMembers(seg string) (map[string]json.RawMessage, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, errors.New("not base64url")
	}
	return objectMembers(raw)
}

// objectMembers is segmentMembers after base64 decoding (the fuzz target
// calls it directly).
func objectMembers(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New("not a JSON object")
		}
		name, _ := t.(string) // inside an object the decoder yields only string keys
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("not a JSON object")
		}
		k := foldKey(name)
		if _, dup := out[k]; dup {
			return nil, errors.New("duplicate member name")
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("not a JSON object")
	}
	return out, nil
}

// foldKey maps every name encoding/json would match to the same string:
// ASCII upper-cased, other runes to the smallest rune of their simple-fold
// orbit (so "ſub" and "SUB" both fold to "SUB").
func foldKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		b.WriteRune(smallestFold(r))
	}
	return b.String()
}

func smallestFold(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// isJSONNumber reports whether v is a JSON number literal (not a string,
// not null).
func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || ('0' <= v[0] && v[0] <= '9'))
}
