package ws_test

import (
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// TestSubscribeChurnRateLimited guards I4 of the 2026-12 review: subscribe
// and unsubscribe frames are charged per topic to a per-connection bucket;
// over it a frame gets the catalogue's rate_limited error with its ref and
// is not carried out, the connection stays usable, and other connections
// have their own bucket.
func TestSubscribeChurnRateLimited(t *testing.T) {
	g := auth.Grants{Subject: "alice", Subscribe: []string{"*"}, Publish: []string{"*"}}
	// A rate so low the bucket does not refill while the test runs, and a
	// burst of exactly the per-frame topic cap.
	e := newEnv(t, hub.Options{MaxTopics: 4}, ws.Options{Auth: streamtest.GrantsAuth{G: g}, SubscribeRate: 1e-6, SubscribeBurst: 4})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"s1","topics":["a:1","a:2","a:3"]}`)
	if f := read(t, c); f.Op != "subscribed" || f.Ref != "s1" {
		t.Fatalf("first subscribe: %+v", f)
	}
	send(t, c, `{"op":"unsubscribe","ref":"u1","topics":["a:3"]}`)
	if f := read(t, c); f.Op != "unsubscribed" || f.Ref != "u1" {
		t.Fatalf("unsubscribe within the burst: %+v", f)
	}
	send(t, c, `{"op":"subscribe","ref":"s2","topics":["a:3"]}`)
	f := read(t, c)
	if f.Op != "error" || f.Code != "rate_limited" || f.Ref != "s2" || !strings.Contains(f.Message, "retry in") {
		t.Fatalf("subscribe over the rate: %+v, want rate_limited for s2", f)
	}
	send(t, c, `{"op":"unsubscribe","ref":"u2","topics":["a:1"]}`)
	if f := read(t, c); f.Op != "error" || f.Code != "rate_limited" || f.Ref != "u2" {
		t.Fatalf("unsubscribe over the rate: %+v", f)
	}
	// Publishing is not churn: the connection still works, and a:1 is
	// still subscribed (the refused unsubscribe was not carried out).
	send(t, c, `{"op":"publish","ref":"p","topic":"a:1","type":"x"}`)
	seen := map[string]bool{}
	for !seen["published"] || !seen["events"] {
		f := read(t, c)
		seen[f.Op] = true
		if f.Op == "error" {
			t.Fatalf("after the refusals: %+v", f)
		}
	}
	// Another connection has a bucket of its own.
	other := dial(t, e, nil)
	send(t, other, `{"op":"subscribe","ref":"o","topics":["a:1","a:2","a:3","a:4"]}`)
	if f := read(t, other); f.Op != "subscribed" {
		t.Fatalf("second connection: %+v", f)
	}
}
