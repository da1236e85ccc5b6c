package deliverylog

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeElement: stored elements come back from Redis, where anything
// with the key's name could have put them; decoding never panics and what
// it accepts re-encodes.
func FuzzDecodeElement(f *testing.F) {
	f.Add([]byte(`1800000000000{"id":"x","time":"2027-01-15T08:00:00Z","source":"shop","status":200,"outcome":"published"}`))
	f.Add([]byte(`18000000000000`))
	f.Add([]byte(`abcdefghijklm{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeElement(b)
		if err != nil {
			return
		}
		if _, err := encodeElement(&e); err != nil {
			t.Fatalf("accepted element does not re-encode: %v", err)
		}
	})
}

// FuzzRedact: whatever the body and the field path, redaction never
// panics, returns valid JSON or nothing, and never returns the value of a
// top-level redacted field.
func FuzzRedact(f *testing.F) {
	f.Add("email", []byte(`{"email":"secret-value","a":1}`))
	f.Add("a.b", []byte(`[{"a":{"b":"secret-value"}},{"a":[{"b":"secret-value"}]}]`))
	f.Add("x", []byte(`not json`))
	f.Fuzz(func(t *testing.T, field string, body []byte) {
		r, err := NewRedactor([]string{field})
		if err != nil {
			return
		}
		out, _ := r.Body(body)
		if out == nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("redacted body is not JSON: %q", out)
		}
		if !strings.Contains(field, ".") {
			var m map[string]any
			if json.Unmarshal(out, &m) == nil {
				if v, ok := m[field]; ok && v != Redacted {
					t.Fatalf("field %q kept as %v", field, v)
				}
			}
		}
	})
}
