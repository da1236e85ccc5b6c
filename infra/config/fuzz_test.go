package config

import (
	"strings"
	"testing"
)

// FuzzParseBytes: never panics, never negative, and formatBytes round-trips.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"65536", "64KiB", "1 MiB", "2GiB", "10B", "-1", "+5", "9223372036854775807", "8589934592GiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q parsed to negative %d", s, n)
		}
		back, err := parseBytes(formatBytes(n))
		if err != nil || back != n {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, n, formatBytes(n), back, err)
		}
	})
}

// FuzzParseAPIKeys: never panics; names are unique and valid, keys
// non-empty, and errors never contain a key.
func FuzzParseAPIKeys(f *testing.F) {
	for _, s := range []string{"ci:k", "a:b,c:d", "a:b,a:c", "nokey", "x:env:KEY", " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseAPIKeys(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if !validKeyName(k.Name) || k.Key == "" || seen[k.Name] {
				t.Fatalf("%q gave bad entry %+v", s, k)
			}
			seen[k.Name] = true
		}
	})
}

// FuzzConfigFile: any bytes as the YAML file never panic the decoder or
// Validate; errors always name the file.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"addr: :8080\nheartbeat: 15s\n",
		"api_keys:\n  ci: k\n",
		"allowed_origins: [https://a.example]\n",
		"sources:\n  - name: shop\n    provider: shopify\n",
		"a: &x 1\nb: *x\n",
		"- 1\n",
		"heartbeat: [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Defaults(ModeDev)
		c.origin = make(map[string]string)
		if err := c.applyFile(settings(), "f.yaml", data); err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Validate must cope with anything the file could set.
		_ = c.Validate() // only panics matter here
	})
}
