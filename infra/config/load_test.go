package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envMap is a getenv over a fixed map, so tests never see the real
// environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, mode Mode, args []string, env map[string]string, opts ...LoadOption) *Config {
	t.Helper()
	c, err := Load(context.Background(), mode, args, envMap(env), opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, ModeDev, nil, nil)
	if c.Addr != DefaultAddrDev || c.LogFormat != "text" || c.Heartbeat != DefaultHeartbeat {
		t.Fatalf("dev defaults: addr %q format %q heartbeat %v", c.Addr, c.LogFormat, c.Heartbeat)
	}
	key := strings.Repeat("k", 32)
	c = mustLoad(t, ModeServe, nil, map[string]string{"REDIS_URL": "redis://localhost:6379", "HOOKRELAY_TOKEN_KEY": key})
	if c.Addr != DefaultAddrServe || c.LogFormat != "json" || c.DrainTimeout != DefaultDrainTimeoutServe {
		t.Fatalf("serve defaults: addr %q format %q drain %v", c.Addr, c.LogFormat, c.DrainTimeout)
	}
	if c.SigningKey() != key || c.RedisURL != "redis://localhost:6379" {
		t.Fatalf("serve: key %q redis %q", c.SigningKey(), c.RedisURL)
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "hookrelay.yaml", `
addr: 127.0.0.1:1000
heartbeat: 20s
max_connections: 10
allowed_origins:
  - https://file.example
log_level: debug
`)
	env := map[string]string{
		"HOOKRELAY_CONFIG":          file,
		"HOOKRELAY_HEARTBEAT":       "25s",
		"HOOKRELAY_MAX_CONNECTIONS": "20",
		"HOOKRELAY_ALLOWED_ORIGINS": "https://env.example, https://env2.example",
	}
	args := []string{"--max-connections", "30", "-allowed-origins=https://flag.example", "--allowed-origins", "https://flag2.example", "rest"}
	c := mustLoad(t, ModeDev, args, env)
	if c.ConfigFile != file {
		t.Errorf("ConfigFile %q", c.ConfigFile)
	}
	if c.Addr != "127.0.0.1:1000" { // file only
		t.Errorf("addr %q, want the file's", c.Addr)
	}
	if c.LogLevel != "debug" {
		t.Errorf("log_level %q, want the file's", c.LogLevel)
	}
	if c.Heartbeat != 25*time.Second { // env over file
		t.Errorf("heartbeat %v, want env 25s", c.Heartbeat)
	}
	if c.MaxConnections != 30 { // flag over env over file
		t.Errorf("max_connections %d, want flag 30", c.MaxConnections)
	}
	if got := strings.Join(c.AllowedOrigins, " "); got != "https://flag.example https://flag2.example" {
		t.Errorf("allowed_origins %q, want the flags' (accumulated)", got)
	}
	if len(c.Args) != 1 || c.Args[0] != "rest" {
		t.Errorf("Args %q", c.Args)
	}
	if got := c.Key("heartbeat"); got != "HOOKRELAY_HEARTBEAT" {
		t.Errorf("Key(heartbeat) = %q", got)
	}
	if got := c.Key("addr"); got != file+":2: addr" {
		t.Errorf("Key(addr) = %q", got)
	}
	if got := c.Key("max_connections"); got != "--max-connections" {
		t.Errorf("Key(max_connections) = %q", got)
	}
	if got := c.Key("redis_url"); got != "REDIS_URL" {
		t.Errorf("Key(redis_url) = %q", got)
	}

	// --config wins over HOOKRELAY_CONFIG.
	other := writeFile(t, "other.yaml", "addr: 127.0.0.1:2000\n")
	c = mustLoad(t, ModeDev, []string{"--config", other}, env)
	if c.Addr != "127.0.0.1:2000" {
		t.Errorf("--config: addr %q", c.Addr)
	}
}

func TestLoadEnvAliases(t *testing.T) {
	c := mustLoad(t, ModeDev, nil, map[string]string{"REDIS_URL": "redis://alias:6379"})
	if c.RedisURL != "redis://alias:6379" || c.Key("redis_url") != "REDIS_URL" {
		t.Fatalf("alias: %q from %q", c.RedisURL, c.Key("redis_url"))
	}
	c = mustLoad(t, ModeDev, nil, map[string]string{"REDIS_URL": "redis://alias:6379", "HOOKRELAY_REDIS_URL": "redis://canon:6379"})
	if c.RedisURL != "redis://canon:6379" || c.Key("redis_url") != "HOOKRELAY_REDIS_URL" {
		t.Fatalf("canonical over alias: %q from %q", c.RedisURL, c.Key("redis_url"))
	}
}

func TestLoadHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Load(context.Background(), ModeServe, []string{"-h"}, envMap(nil), WithOutput(&out))
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err %v, want ErrHelp", err)
	}
	usage := out.String()
	for _, s := range settings() {
		if !strings.Contains(usage, "--"+s.flagName()+" ") || !strings.Contains(usage, s.envName()) {
			t.Errorf("usage misses %s", s.name)
		}
	}
	for _, want := range []string{"Usage: relay serve", "REDIS_URL", "HOOKRELAY_CONFIG", "(default :8080)", "(default 15s)", "(default 4m)", "(default 64KiB)"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage misses %q:\n%s", want, usage)
		}
	}
}

func TestLoadBadFlag(t *testing.T) {
	_, err := Load(context.Background(), ModeDev, []string{"--hearbeat", "1s"}, envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "hearbeat") {
		t.Fatalf("err %v", err)
	}
	_, err = Load(context.Background(), ModeDev, []string{"--heartbeat", "soon"}, envMap(nil))
	if err == nil || !strings.Contains(err.Error(), `--heartbeat: "soon" is not a duration`) {
		t.Fatalf("err %v", err)
	}
	_, err = Load(context.Background(), ModeDev, nil, envMap(map[string]string{"HOOKRELAY_MAX_CONNECTIONS": "lots"}))
	if err == nil || !strings.Contains(err.Error(), `HOOKRELAY_MAX_CONNECTIONS: "lots" is not an integer`) {
		t.Fatalf("err %v", err)
	}
}
