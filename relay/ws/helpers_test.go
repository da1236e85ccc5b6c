package ws_test

import (
	"net/http"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// env is one relay node (hub + WebSocket handler) on a memory bus, behind a
// real HTTP server; see streamtest.Env.
type env struct{ *streamtest.Env }

func newEnv(t testing.TB, ho hub.Options, so ws.Options) *env {
	t.Helper()
	return &env{streamtest.NewEnv(t, ho, handler(so))}
}

// newNode starts a hub + handler on e's bus and routes new requests to it.
func (e *env) newNode(ho hub.Options, so ws.Options) (*hub.Hub, http.Handler) {
	return e.NewNode(ho, handler(so))
}

// handler builds the WebSocket handler with the tests' defaults: everyone allowed.
func handler(so ws.Options) func(*hub.Hub) http.Handler {
	if so.Auth == nil {
		so.Auth = auth.AllowAll{}
	}
	if so.Verifier == nil {
		so.Verifier = auth.AllowAll{}
	}
	return func(h *hub.Hub) http.Handler { return ws.NewHandler(h, so) }
}
