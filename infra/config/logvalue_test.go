package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogValueHidesSecrets(t *testing.T) {
	c := mustLoad(t, ModeDev, []string{"--api-keys", "ci:apikeysecret"}, map[string]string{
		"REDIS_URL":                "redis://user:hunter2@cache:6379",
		"HOOKRELAY_TOKEN_KEY":      "tokensecret-tokensecret-tokensecret",
		"HOOKRELAY_REDIS_PASSWORD": "pwsecret",
	})
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, secret := range []string{"hunter2", "tokensecret", "apikeysecret", "pwsecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q: %s", secret, out)
		}
	}
	for _, want := range []string{"config.redis_url=\"redis://user:xxxxx@cache:6379 (REDIS_URL)\"", "config.token_key=\"set (HOOKRELAY_TOKEN_KEY)\"",
		"config.api_keys=\"ci:… (--api-keys)\"", "config.addr=127.0.0.1:8080", "config.mode=dev"} {
		if !strings.Contains(out, want) {
			t.Errorf("log misses %s: %s", want, out)
		}
	}
}
