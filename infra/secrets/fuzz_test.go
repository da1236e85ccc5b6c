package secrets

import (
	"testing"
)

// FuzzParseRef: never panics; every accepted reference prints back to a
// string that parses to the same Ref; literals never print their value.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"env:KEY", "file:/run/secrets/k", "file:///x", "aws-sm://a/b#k", "aws-ssm:///p/q", "literal", "aws-x://y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseRef(s)
		if err != nil {
			return
		}
		if ref.Kind == RefLiteral {
			if ref.Name != s {
				t.Fatalf("literal %q became %q", s, ref.Name)
			}
			if ref.String() != "(literal)" {
				t.Fatalf("literal %q printed as %q", s, ref.String())
			}
			return
		}
		again, err := ParseRef(ref.String())
		if err != nil || again != ref {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, ref, ref.String(), again, err)
		}
	})
}
