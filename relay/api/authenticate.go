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
	return grantsOr(a.Authenticate(ctx, r))
}

// Verify is Authenticate for a bare token: the WebSocket "auth" frame
// (a token refresh) asks here, so a token gets the same catalogue entry
// whichever entry point carries it. v must not be nil (a relay without a
// verifier does not offer refresh; the caller answers that itself).
func Verify(ctx context.Context, v auth.TokenVerifier, token string) (*auth.Grants, *Error) {
	return grantsOr(v.Verify(ctx, token))
}

// grantsOr classifies an authenticator's or verifier's answer.
func grantsOr(g *auth.Grants, err error) (*auth.Grants, *Error) {
	if err != nil {
		return nil, Classify(err)
	}
	if g == nil {
		return nil, Errorf(CodeUnauthorized, http.StatusUnauthorized, "credentials required")
	}
	return g, nil
}
