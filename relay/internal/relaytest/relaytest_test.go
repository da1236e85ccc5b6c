package relaytest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) { relaytest.Main(m) }

// TestStartRestartProxy: a dev relay starts ready, answers through the
// proxy, restarts on the same address and stops with exit code 0.
func TestStartRestartProxy(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	p := relaytest.NewProxy(t, r.Addr)
	pub := &client.Publisher{BaseURL: p.URL, Key: relaytest.APIKey}
	if _, err := pub.Publish(t.Context(), client.Message{Topic: "a", Type: "t", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatalf("publish through the proxy: %v", err)
	}
	r.Restart(t)
	if s, err := r.Readyz(); err != nil || s != http.StatusOK {
		t.Fatalf("readyz after restart: %d %v", s, err)
	}
	p.CloseConns()
	if out := r.Publish(t, client.Message{Topic: "a", Type: "t"}); len(out) != 1 {
		t.Fatalf("publish after restart: %v", out)
	}
	if code := r.Stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
