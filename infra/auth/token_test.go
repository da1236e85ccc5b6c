package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

const (
	keyA = "key-A-0123456789abcdef0123456789ab"
	keyB = "key-B-0123456789abcdef0123456789ab"
)

func TestMintVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA, keyB}, Audience: "hookrelay", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{keyA, keyB} {
		tok, err := Mint(key, MintClaims{Subject: "42", Topics: []string{"user:{sub}", "room:*"}, Publish: []string{"room:lobby"}, Audience: "hookrelay", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/v1/sse", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		g, err := a.Authenticate(context.Background(), r)
		if err != nil {
			t.Fatalf("key %s: %v", key[:5], err)
		}
		if g.Subject != "42" || !g.CanSubscribe("user:42") || g.CanSubscribe("user:43") || !g.CanPublish("room:lobby") || g.CanPublish("room:x") {
			t.Fatalf("grants %+v", g)
		}
		if !g.ExpiresAt.Equal(now.Add(DefaultTokenTTL)) {
			t.Fatalf("expires %v", g.ExpiresAt)
		}
	}
	if _, err := a.Authenticate(context.Background(), httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no creds: %v", err)
	}
}
