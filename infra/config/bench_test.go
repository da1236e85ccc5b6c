package config

import (
	"context"
	"testing"
)

// BenchmarkLoad: a serve configuration from file + env + flags, literal
// secrets (no AWS round trip).
func BenchmarkLoad(b *testing.B) {
	p := writeFile(b, "hookrelay.yaml", "addr: :8080\nheartbeat: 20s\nallowed_origins: [https://a.example]\napi_keys:\n  ci: k1\n  ops: k2\n")
	env := envMap(map[string]string{"HOOKRELAY_CONFIG": p, "REDIS_URL": "redis://h:6379", "HOOKRELAY_TOKEN_KEY": goodKey})
	args := []string{"--max-connections", "5000", "--log-level", "debug"}
	for b.Loop() {
		if _, err := Load(context.Background(), ModeServe, args, env); err != nil {
			b.Fatal(err)
		}
	}
}
