package api

import (
	"context"
	"net/http"

	"github.com/hookrelay/hookrelay/infra/auth"
)

// Authenticate returns the request's grants, or the catalogue entry to
// refuse it with: the one authentication answer of the HTTP API, SSE and
// the WebSocket upgrade. A nil authenticator refuses every request (wire
// auth.AllowAll explicitly for development); an authenticator's own
// failure (not a credentials problem) is internal, its cause kept for the
// caller's log.
func Authenticate(ctx context.Context, a auth.Authenticator, r *http.Request) (*auth.Grants, *Error) {
	if a == nil {
		return nil, Errorf(CodeUnauthorized, http.StatusUnauthorized, "no authenticator configured")
	}
	g, err := a.Authenticate(ctx, r)
	if err != nil {
		return nil, Classify(err)
	}
	if g == nil {
		return nil, Errorf(CodeUnauthorized, http.StatusUnauthorized, "credentials required")
	}
	return g, nil
}
