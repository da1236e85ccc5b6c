package app

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/devmode"
)

// load is a config as the relay binary would load it, from flags only.
func load(t *testing.T, mode config.Mode, args ...string) *config.Config {
	t.Helper()
	env := map[string]string{"HOOKRELAY_DRAIN_GRACE": "0s", "HOOKRELAY_DRAIN_TIMEOUT": "2s"}
	cfg, err := config.Load(context.Background(), mode, args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run serves a on a fresh 127.0.0.1 listener until cancel; done gets
// Run's answer.
func run(t *testing.T, a *App) (ln net.Listener, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- a.Run(ctx, ln, make(chan struct{})) }()
	return ln, cancel, ch
}

// TestRunServesThenDrains: an App built in-process (no binary) serves the
// API on the given listener, answers /readyz, and when ctx is done drains
// and returns nil with the listener closed.
func TestRunServesThenDrains(t *testing.T) {
	var logs bytes.Buffer
	a, err := New(context.Background(), load(t, config.ModeDev), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if a.BusKind() != "memory" || !a.Banner().Anyone || !a.Banner().DevSources {
		t.Fatalf("dev without REDIS_URL or a token key: bus %q banner %+v", a.BusKind(), a.Banner())
	}
	ln, cancel, done := run(t, a)

	res, err := http.Get("http://" + ln.Addr().String() + api.ReadyzPath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz %d, want 200", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if !strings.Contains(logs.String(), "drain: done") {
		t.Errorf("no drain logged:\n%s", logs.String())
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("listener still accepts after Run returned")
	}
}

// TestBannerWithTokenKey: relay dev with a token key requires tokens and
// signs the banner's token with the derived demo key, never the
// configured one (a serve relay sharing the key must not accept it).
func TestBannerWithTokenKey(t *testing.T) {
	key := strings.Repeat("k", 40)
	cfg := load(t, config.ModeDev, "--token-key", key)
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := a.Banner()
	if b.Anyone || b.DemoKey == "" || b.DemoKey == key || b.DemoKey != devmode.KeyFor(cfg.SigningKey()) {
		t.Fatalf("banner %+v: want tokens required and the demo key derived from the token key", b)
	}
}
