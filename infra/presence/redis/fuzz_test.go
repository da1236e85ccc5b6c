package redis

import (
	"strings"
	"testing"
)

// FuzzParseChange: a change log entry as Redis returns it (a field list)
// is a join or a leave or an error, never a panic; what parses carries the
// entry's subject and name.
func FuzzParseChange(f *testing.F) {
	f.Add("j\x00alice\x00n\x00Alice")
	f.Add("l\x00bob")
	f.Add("j\x00x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		parts := strings.Split(s, "\x00")
		fields := make([]any, len(parts))
		for i, p := range parts {
			fields[i] = p
		}
		c, err := parseChange(fields)
		if err != nil {
			return
		}
		if c.Member.Sub != parts[1] {
			t.Fatalf("subject %q, entry %q", c.Member.Sub, parts)
		}
		if c.Join && c.Member.Name != parts[3] {
			t.Fatalf("name %q, entry %q", c.Member.Name, parts)
		}
		if !c.Join && (parts[0] != "l" || len(parts) != 2) {
			t.Fatalf("leave from entry %q", parts)
		}
	})
}
