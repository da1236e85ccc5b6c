package deliverylog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Redacted replaces a redacted value.
const Redacted = "[redacted]"

// secretHeader reports headers never kept, whatever the configuration:
// they carry credentials (a bearer or basic webhook secret, a session).
func secretHeader(canonical string) bool {
	switch canonical {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key":
		return true
	}
	return false
}

// Redactor removes configured fields from JSON bodies.
type Redactor struct {
	paths [][]string
}

// NewRedactor compiles field paths: dot-separated JSON object keys
// ("customer.email"); a path through an array applies to every element
// ("line_items.price"). A key may not be empty.
func NewRedactor(fields []string) (*Redactor, error) {
	r := &Redactor{}
	for _, f := range fields {
		p, err := ParseFieldPath(f)
		if err != nil {
			return nil, err
		}
		r.paths = append(r.paths, p)
	}
	return r, nil
}

// ParseFieldPath splits a dotted field path, refusing empty segments and
// over-long paths.
func ParseFieldPath(f string) ([]string, error) {
	if f == "" || len(f) > 256 {
		return nil, fmt.Errorf("redact field %q: want 1-256 bytes like customer.email", f)
	}
	parts := strings.Split(f, ".")
	for _, s := range parts {
		if s == "" {
			return nil, fmt.Errorf("redact field %q: empty segment (want customer.email)", f)
		}
	}
	return parts, nil
}

// Body returns raw with the configured fields replaced by Redacted, as
// JSON. A body that is not one JSON value is not kept when any field is
// configured (it could hold those fields in another form); the note says
// why.
func (r *Redactor) Body(raw []byte) (json.RawMessage, string) {
	if len(raw) == 0 {
		return nil, ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, e2 := dec.Token(); e2 != io.EOF {
			err = fmt.Errorf("trailing data")
		}
	}
	if err != nil {
		if len(r.paths) > 0 {
			return nil, fmt.Sprintf("body of %d bytes is not JSON: not kept, because fields are redacted", len(raw))
		}
		// Kept as a JSON string so the entry stays valid JSON.
		s, _ := json.Marshal(string(bytes.ToValidUTF8(raw, []byte("\uFFFD"))))
		return s, "body is not JSON; kept as text"
	}
	if len(r.paths) == 0 {
		return json.RawMessage(raw), ""
	}
	for _, p := range r.paths {
		v = redactPath(v, p)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, "body could not be re-encoded after redaction: not kept"
	}
	return out, ""
}

// redactPath replaces the value at path p in v.
func redactPath(v any, p []string) any {
	switch t := v.(type) {
	case map[string]any:
		child, ok := t[p[0]]
		if !ok {
			return v
		}
		if len(p) == 1 {
			t[p[0]] = Redacted
		} else {
			t[p[0]] = redactPath(child, p[1:])
		}
	case []any:
		for i := range t {
			t[i] = redactPath(t[i], p)
		}
	}
	return v
}

// Headers keeps the request headers but credentials, first value each.
func Headers(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if len(v) == 0 || secretHeader(ck) {
			continue
		}
		out[ck] = v[0]
	}
	return out
}
