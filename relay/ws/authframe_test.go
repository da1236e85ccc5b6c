package ws_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/ws"
)

const authFrameKey = "ws-auth-frame-key-0123456789abcdef"

// TestTokenInFirstFrame guards I6 of the 2026-12 review: a browser may
// open /v1/ws with no credential and send its token in an "auth" frame,
// so the token stays out of URLs (and ALB access logs). Until then the
// connection holds no grants; one that never authenticates is closed with
// 4001; a bad token in the URL is still a 401 before the upgrade.
func TestTokenInFirstFrame(t *testing.T) {
	ta, err := auth.NewTokenAuth(auth.TokenOptions{HS256Keys: []string{authFrameKey}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(authFrameKey, auth.MintClaims{Subject: "alice", Topics: []string{"user:{sub}"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, hub.Options{}, ws.Options{Auth: ta, Verifier: ta, AuthWait: 300 * time.Millisecond, Ping: 20 * time.Millisecond})

	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"early","topics":["user:alice"]}`)
	if f := read(t, c); f.Op != "error" || f.Code != "forbidden" || f.Ref != "early" {
		t.Fatalf("subscribe before auth: %+v, want forbidden", f)
	}
	send(t, c, `{"op":"auth","ref":"a","token":"`+tok+`"}`)
	if f := read(t, c); f.Op != "authed" || f.Ref != "a" {
		t.Fatalf("auth frame: %+v", f)
	}
	send(t, c, `{"op":"subscribe","ref":"s","topics":["user:alice"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("subscribe after auth: %+v", f)
	}
	send(t, c, `{"op":"subscribe","ref":"x","topics":["user:bob"]}`)
	if f := read(t, c); f.Op != "error" || f.Code != "forbidden" {
		t.Fatalf("the token's grants apply: %+v", f)
	}

	silent := dial(t, e, nil)
	if code := expectClose(t, silent); code != 4001 {
		t.Fatalf("a connection that never authenticated closed with %d, want 4001", code)
	}
	// The authenticated one outlived the auth wait.
	send(t, c, `{"op":"unsubscribe","ref":"u","topics":["user:alice"]}`)
	if f := read(t, c); f.Op != "unsubscribed" {
		t.Fatalf("authenticated connection after the auth wait: %+v", f)
	}

	u := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/v1/ws?token=not.a.token"
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token in the URL: err %v resp %v, want 401", err, resp)
	}
}
