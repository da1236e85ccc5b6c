package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// authFunc is an Authenticator answering with fixed grants and error.
type authFunc func() (*auth.Grants, error)

func (f authFunc) Authenticate(context.Context, *http.Request) (*auth.Grants, error) { return f() }

// TestAuthenticateAnswers pins the one authentication answer SSE, the
// WebSocket upgrade and the HTTP API share (they had three copies that
// drifted in messages and in what an authenticator's own failure was).
func TestAuthenticateAnswers(t *testing.T) {
	boom := errors.New("jwks fetch: connection refused")
	cases := []struct {
		name   string
		a      auth.Authenticator
		status int
		code   string
	}{
		{"no authenticator", nil, 401, api.CodeUnauthorized},
		{"no grants, no error", authFunc(func() (*auth.Grants, error) { return nil, nil }), 401, api.CodeUnauthorized},
		{"no credentials", authFunc(func() (*auth.Grants, error) { return nil, auth.ErrNoCredentials }), 401, api.CodeUnauthorized},
		{"invalid token", authFunc(func() (*auth.Grants, error) { return nil, fmt.Errorf("sig: %w", auth.ErrInvalidToken) }), 401, api.CodeUnauthorized},
		{"expired", authFunc(func() (*auth.Grants, error) { return nil, fmt.Errorf("exp: %w", auth.ErrExpired) }), 401, api.CodeTokenExpired},
		{"authenticator failed", authFunc(func() (*auth.Grants, error) { return nil, boom }), 500, api.CodeInternal},
	}
	r := httptest.NewRequest(http.MethodGet, "/v1/sse?topic=a", nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, e := api.Authenticate(context.Background(), c.a, r)
			if g != nil || e == nil || e.Status != c.status || e.Code != c.code {
				t.Fatalf("got %v, %+v; want %d %s", g, e, c.status, c.code)
			}
			if c.code == api.CodeInternal && (e.Message != "internal error" || !errors.Is(e, boom)) {
				t.Fatalf("internal answer %+v: the cause must be kept for the log and not sent", e)
			}
		})
	}
	want := &auth.Grants{Subject: "alice"}
	g, e := api.Authenticate(context.Background(), authFunc(func() (*auth.Grants, error) { return want, nil }), r)
	if e != nil || g != want {
		t.Fatalf("got %v, %v; want the grants", g, e)
	}
}

// TestClassifyTooManyTopics: the cap on topics per connection is a
// topic-list rule, answered bad_topic by SSE, WS and the hub alike (WS and
// the hub said bad_request, SSE bad_topic).
func TestClassifyTooManyTopics(t *testing.T) {
	e := api.Classify(fmt.Errorf("%w: at most 3 per connection", hub.ErrTooManyTopics))
	if e.Code != api.CodeBadTopic || e.Status != http.StatusBadRequest {
		t.Fatalf("got %+v, want 400 bad_topic", e)
	}
}
