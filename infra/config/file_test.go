package config

import (
	"context"
	"strings"
	"testing"
)

func loadFile(t *testing.T, body string) (*Config, string, error) {
	t.Helper()
	p := writeFile(t, "hookrelay.yaml", body)
	c, err := Load(context.Background(), ModeDev, []string{"--config", p}, envMap(nil))
	return c, p, err
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"addr: :1\nhearbeat: 10s\n", `FILE:2: unknown key "hearbeat" (did you mean heartbeat?)`},
		{"max-connections: 5\n", `FILE:1: unknown key "max-connections" (did you mean max_connections?)`},
		{"HOOKRELAY_ADDR: :1\n", `FILE:1: unknown key "HOOKRELAY_ADDR" (did you mean addr?)`},
		{"wat: 1\n", `FILE:1: unknown key "wat"`},
		{"addr: :1\naddr: :2\n", "FILE:2: addr: duplicate key (first at line 1)"},
		{"heartbeat: [1s, 2s]\n", "FILE:1: heartbeat: want a single value, not a list"},
		{"heartbeat: {a: 1}\n", "FILE:1: heartbeat: want a single value, not a mapping"},
		{"heartbeat: soon\n", `FILE:1: heartbeat: "soon" is not a duration`},
		{"- a\n- b\n", "FILE:1: want a mapping of settings"},
		{"addr: [\n", "FILE:1: did not find expected node content"},
		{"sources:\n  - name: shop\n    secert: x\n", `FILE:3: sources: unknown key "secert"`},
		{"sources: 5\n", "FILE:1: sources:"},
	} {
		_, p, err := loadFile(t, tc.body)
		want := strings.ReplaceAll(tc.want, "FILE", p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v\nwant %q", tc.body, err, want)
		}
	}
}

func TestFileValues(t *testing.T) {
	c, _, err := loadFile(t, `
# comments and anchors are fine
defaults: &hb 20s
`)
	if err == nil {
		t.Fatalf("unknown key 'defaults' accepted: %+v", c)
	}
	c, _, err = loadFile(t, `
addr: 127.0.0.1:9999
heartbeat: 20s
ws_read_limit: 128KiB
max_event_bytes: 32768
publish_rate: 12.5
metrics_enabled: false
allowed_origins: https://a.example, https://b.example
token_key:
  - 0123456789abcdef0123456789abcdef
  - fedcba9876543210fedcba9876543210
api_keys:
  ci: key-one
  ops: key-two
sources:
  - name: shop
  - name: alerts
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.WSReadLimit != 128<<10 || c.MaxEventBytes != 32768 || c.PublishRate != 12.5 || c.MetricsEnabled {
		t.Errorf("scalars: %+v", c)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://a.example https://b.example" {
		t.Errorf("origins %q", c.AllowedOrigins)
	}
	if len(c.TokenKeys) != 2 || c.SigningKey() != "0123456789abcdef0123456789abcdef" {
		t.Errorf("token keys %q", c.TokenKeys)
	}
	if len(c.APIKeys) != 2 || c.APIKeys[0] != (APIKey{"ci", "key-one"}) || c.APIKeys[1] != (APIKey{"ops", "key-two"}) {
		t.Errorf("api keys %+v", c.APIKeys)
	}
	if len(c.Sources) != 2 || c.Sources[0].Name != "shop" || c.Sources[1].Name != "alerts" {
		t.Errorf("sources %+v", c.Sources)
	}

	// An empty file and a comment-only file change nothing.
	for _, body := range []string{"", "# nothing\n"} {
		c, _, err := loadFile(t, body)
		if err != nil || c.Addr != DefaultAddrDev {
			t.Errorf("%q: %v %q", body, err, c.Addr)
		}
	}
}

func TestConfigFileMissing(t *testing.T) {
	_, err := Load(context.Background(), ModeDev, nil, envMap(map[string]string{"HOOKRELAY_CONFIG": "/nonexistent/h.yaml"}))
	if err == nil || !strings.Contains(err.Error(), "HOOKRELAY_CONFIG: read config file: open /nonexistent/h.yaml") {
		t.Fatalf("err %v", err)
	}
}
