package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

func TestReceivesPublishedMultiTopic(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	r := streamtest.NewRecorder()
	r.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: []string{"order:1", "order:2"}, Transport: client.WebSocket})
	r.WaitOpen(t)
	want := e.Publish(t, "order:1", 3, `{"n":1}`)
	e.Publish(t, "order:3", 2, `{}`) // not subscribed
	want = append(want, e.Publish(t, "order:2", 2, `{"n":2}`)...)
	streamtest.SameEvents(t, r.Wait(t, 5), want)
}

// frame is any server frame.
type frame struct {
	Op      string            `json:"op"`
	Ref     string            `json:"ref"`
	Topic   string            `json:"topic"`
	Topics  []string          `json:"topics"`
	Cursor  string            `json:"cursor"`
	Resume  string            `json:"resume"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Events  []json.RawMessage `json:"events"`
	Expires string            `json:"expires_at"`
}

func dial(t *testing.T, e *env, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.Srv.URL, "http")+"/v1/ws", h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *websocket.Conn, raw string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f frame
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return f
}

// expectClose reads until the connection closes and returns the code.
func expectClose(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("read ended without close frame: %v", err)
		}
	}
}

func eventIDs(t *testing.T, f frame) []string {
	t.Helper()
	var ids []string
	for _, raw := range f.Events {
		var ev struct{ ID, Topic string }
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("event %s: %v", raw, err)
		}
		ids = append(ids, ev.Topic+"/"+ev.ID)
	}
	return ids
}

// readEvents reads events frames until n events arrived.
func readEvents(t *testing.T, c *websocket.Conn, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		f := read(t, c)
		if f.Op != "events" {
			t.Fatalf("want events, got %+v", f)
		}
		ids = append(ids, eventIDs(t, f)...)
	}
	return ids
}

func TestSubscribeWithCursorReplaysExactlyMissed(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	ids := e.Publish(t, "a:1", 5, `{}`)
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["a:1"],"cursor":"`+strings.TrimPrefix(ids[1], "a:1/")+`"}`)
	got := readEvents(t, c, 3)
	streamtest.SameEvents(t, got, ids[2:])
	ack := read(t, c)
	if ack.Op != "subscribed" || ack.Ref != "1" || ack.Cursor != strings.TrimPrefix(ids[4], "a:1/") || len(ack.Topics) != 1 {
		t.Fatalf("ack %+v", ack)
	}
	// A second topic without cursor starts at its last id, acked as such.
	bIDs := e.Publish(t, "b:1", 2, `{}`)
	send(t, c, `{"op":"subscribe","ref":"2","topics":["b:1"]}`)
	if ack := read(t, c); ack.Op != "subscribed" || ack.Cursor != strings.TrimPrefix(bIDs[1], "b:1/") {
		t.Fatalf("ack %+v", ack)
	}
	send(t, c, `{"op":"subscribe","ref":"3","topics":["b:1"]}`)
	if f := read(t, c); f.Op != "error" || f.Code != "bad_request" || f.Ref != "3" {
		t.Fatalf("double subscribe: %+v", f)
	}
	live := e.Publish(t, "b:1", 1, `{}`)
	streamtest.SameEvents(t, readEvents(t, c, 1), live)
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["a:1","b:1"]}`)
	if f := read(t, c); f.Op != "subscribed" || !strings.HasPrefix(f.Cursor, "v1.") {
		t.Fatalf("ack %+v", f)
	}
	send(t, c, `{"op":"unsubscribe","ref":"2","topics":["a:1","zz:1"]}`)
	if f := read(t, c); f.Op != "unsubscribed" || f.Ref != "2" || len(f.Topics) != 1 || f.Topics[0] != "a:1" {
		t.Fatalf("unsubscribe ack %+v", f)
	}
	e.Publish(t, "a:1", 2, `{}`)
	want := e.Publish(t, "b:1", 1, `{}`)
	streamtest.SameEvents(t, readEvents(t, c, 1), want)
	// Resubscribing works and does not duplicate deliveries.
	send(t, c, `{"op":"subscribe","ref":"3","topics":["a:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("ack %+v", f)
	}
	want = e.Publish(t, "a:1", 1, `{}`)
	streamtest.SameEvents(t, readEvents(t, c, 1), want)
}

func TestBadFramesKeepConnection(t *testing.T) {
	g := auth.Grants{Subject: "u", Subscribe: []string{"ok:*"}, Publish: []string{"ok:*"}}
	e := newEnv(t, hub.Options{MaxTopics: 3}, ws.Options{Auth: streamtest.GrantsAuth{G: g}, MaxEventBytes: 100})
	c := dial(t, e, nil)
	cases := []struct{ in, ref, code string }{
		{`not json`, "", "bad_request"},
		{`{"op":"subscribe","ref":"1","topics":"ok:1"}`, "1", "bad_request"},
		{`{"ref":"2"}`, "2", "bad_request"},
		{`{"op":"dance","ref":"3"}`, "3", "unknown_op"},
		{`{"op":"subscribe","ref":"4","topics":["bad topic"]}`, "4", "bad_topic"},
		{`{"op":"subscribe","ref":"5","topics":[]}`, "5", "bad_topic"},
		{`{"op":"subscribe","ref":"6","topics":["ok:1","no:1"]}`, "6", "forbidden"},
		{`{"op":"subscribe","ref":"7","topics":["ok:1"],"cursor":"garbage"}`, "7", "bad_cursor"},
		{`{"op":"subscribe","ref":"8","topics":["ok:1","ok:2","ok:3","ok:4"]}`, "8", "bad_topic"},
		{`{"op":"publish","ref":"9","topic":"no:1","type":"x","data":{}}`, "9", "forbidden"},
		{`{"op":"publish","ref":"10","topic":"ok:1","type":"","data":{}}`, "10", "bad_request"},
		{`{"op":"publish","ref":"11","topic":"ok:1","type":"x","data":{"pad":"` + strings.Repeat("x", 200) + `"}}`, "11", "too_large"},
		{`{"op":"auth","ref":"12"}`, "12", "bad_request"},
	}
	for _, tc := range cases {
		send(t, c, tc.in)
		f := read(t, c)
		if f.Op != "error" || f.Ref != tc.ref || f.Code != tc.code || f.Message == "" {
			t.Fatalf("%s: got %+v, want error %s ref %q", tc.in, f, tc.code, tc.ref)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if f := read(t, c); f.Op != "error" || f.Code != "bad_request" {
		t.Fatalf("binary frame: %+v", f)
	}
	// Still usable.
	send(t, c, `{"op":"subscribe","ref":"s","topics":["ok:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("subscribe after errors: %+v", f)
	}
	send(t, c, `{"op":"publish","ref":"p","topic":"ok:1","type":"chat.message","data":{"text":"hi"},"idempotency_key":"k1"}`)
	var pub frame
	var evs []string
	for pub.Op == "" || evs == nil {
		f := read(t, c)
		switch f.Op {
		case "published":
			pub = f
		case "events":
			evs = eventIDs(t, f)
		default:
			t.Fatalf("unexpected %+v", f)
		}
	}
	var res struct {
		Events []struct {
			ID, Topic string
			Duplicate bool
		}
	}
	if pub.Ref != "p" || len(evs) != 1 {
		t.Fatalf("published %+v events %v", pub, evs)
	}
	send(t, c, `{"op":"publish","ref":"q","topic":"ok:1","type":"chat.message","data":{"text":"hi"},"idempotency_key":"k1"}`)
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Events) != 1 || !res.Events[0].Duplicate || "ok:1/"+res.Events[0].ID != evs[0] {
		t.Fatalf("duplicate publish answer %s (%v)", data, err)
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{ReadLimit: 1024})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["a:1"],"pad":"`+strings.Repeat("x", 2000)+`"}`)
	if code := expectClose(t, c); code != websocket.CloseMessageTooBig {
		t.Fatalf("close %d, want 1009", code)
	}
	streamtest.WaitFor(t, "the hub to forget the connection", func() bool { return e.Hub.Connections() == 0 })
}

func TestPublishRateLimited(t *testing.T) {
	// The limiter runs on the server's goroutines; the socket between
	// them and this test is no happens-before edge for the race detector.
	var mu sync.Mutex
	var keys []string
	limit := func(key string) (bool, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, key)
		return len(keys) <= 1, time.Second
	}
	g := auth.Grants{Subject: "alice", Subscribe: []string{"*"}, Publish: []string{"*"}}
	e := newEnv(t, hub.Options{}, ws.Options{Auth: streamtest.GrantsAuth{G: g}, PublishLimit: limit})
	c := dial(t, e, nil)
	send(t, c, `{"op":"publish","ref":"1","topic":"a:1","type":"x"}`)
	if f := read(t, c); f.Op != "published" {
		t.Fatalf("first publish %+v", f)
	}
	send(t, c, `{"op":"publish","ref":"2","topic":"a:1","type":"x"}`)
	if f := read(t, c); f.Op != "error" || f.Code != "rate_limited" {
		t.Fatalf("second publish %+v", f)
	}
	mu.Lock()
	defer mu.Unlock()
	if keys[0] != "token:alice" { // L2: token buckets are token:<sub>, never an API key's
		t.Fatalf("limit key %q, want token:<subject>", keys[0])
	}
}

func TestOriginRejected(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	u := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/v1/ws"
	_, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: err %v resp %v, want 403", err, resp)
	}
	// Same origin passes by default.
	dial(t, e, http.Header{"Origin": {e.Srv.URL}})
	allow := func(r *http.Request) bool { return r.Header.Get("Origin") == "https://app.example" }
	e2 := newEnv(t, hub.Options{}, ws.Options{CheckOrigin: allow})
	dial(t, e2, http.Header{"Origin": {"https://app.example"}})
}

func TestTokenExpiryCloses4001UnlessRefreshed(t *testing.T) {
	g := auth.Grants{Subject: "u", Subscribe: []string{"*"}, ExpiresAt: time.Now().Add(300 * time.Millisecond)}
	fresh := auth.Grants{Subject: "u", Subscribe: []string{"*"}, ExpiresAt: time.Now().Add(time.Hour)}
	e := newEnv(t, hub.Options{}, ws.Options{Auth: streamtest.GrantsAuth{G: g}, Verifier: verifier{fresh}, Ping: 20 * time.Millisecond})
	expiring := dial(t, e, nil)
	refreshed := dial(t, e, nil)
	send(t, refreshed, `{"op":"auth","ref":"a","token":"t"}`)
	if f := read(t, refreshed); f.Op != "authed" || f.Ref != "a" || f.Expires == "" {
		t.Fatalf("auth ack %+v", f)
	}
	if code := expectClose(t, expiring); code != 4001 {
		t.Fatalf("close %d, want 4001", code)
	}
	send(t, refreshed, `{"op":"subscribe","ref":"s","topics":["a:1"]}`)
	if f := read(t, refreshed); f.Op != "subscribed" {
		t.Fatalf("refreshed connection after the old expiry: %+v", f)
	}
}

func TestSlowConsumerKickedAndResumes(t *testing.T) {
	e := newEnv(t, hub.Options{QueueSize: 4}, ws.Options{})
	streamtest.SlowConsumerKickedAndResumes(t, e.Env, client.WebSocket)
}

func TestDrainCloses1012AndClientsResume(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	var recs []*streamtest.Recorder
	for i := 0; i < 3; i++ {
		r := streamtest.NewRecorder()
		r.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: []string{"d:1", "d:2"}, Transport: client.WebSocket})
		r.WaitOpen(t)
		recs = append(recs, r)
	}
	want := e.Publish(t, "d:1", 2, `{}`)
	for _, r := range recs {
		r.Wait(t, 2)
	}
	old := e.Hub
	h2, _ := e.newNode(hub.Options{}, ws.Options{})
	t.Cleanup(h2.Close)
	old.Drain(context.Background(), 100*time.Millisecond)
	for _, r := range recs {
		if code := r.WaitClose(t); code != 1012 {
			t.Fatalf("close %d, want 1012", code)
		}
	}
	want = append(want, e.Publish(t, "d:2", 3, `{}`)...)
	for _, r := range recs {
		streamtest.SameEvents(t, r.Wait(t, 3), want)
	}
	if _, err := old.Admit("ws", nil); err == nil {
		t.Fatal("drained hub admitted a connection")
	}
	// A new connection to the draining node is refused as retryable.
	srv := httptest.NewServer(ws.NewHandler(old, ws.Options{Auth: auth.AllowAll{}}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial the draining node: %v", err)
	}
	defer c.Close()
	expectRefusal(t, c, 1012, "restart")
}

type verifier struct{ g auth.Grants }

func (v verifier) Verify(context.Context, string) (*auth.Grants, error) {
	g := v.g
	return &g, nil
}

// TestBusyConnectionStillPinged: pings go out on schedule even while events
// flow, so a client that only reads (answering pings with pongs) is not
// dropped at the pong deadline.
func TestBusyConnectionStillPinged(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{Ping: 100 * time.Millisecond, PongWait: 500 * time.Millisecond})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["busy:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("ack %+v", f)
	}
	// Read on one goroutine (answering pings) while this one publishes
	// every 5 ms for 1.5 s, 3 pong deadlines.
	counts := make(chan int, 1024)
	readErr := make(chan error, 1)
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				readErr <- err
				return
			}
			counts <- len(f.Events)
		}
	}()
	n := 0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); <-tick.C {
		e.Publish(t, "busy:1", 1, `{}`)
		n++
	}
	got := 0
	timeout := time.After(10 * time.Second)
	for got < n {
		select {
		case k := <-counts:
			got += k
		case err := <-readErr:
			t.Fatalf("after %d of %d events: %v", got, n, err)
		case <-timeout:
			t.Fatalf("got %d of %d events", got, n)
		}
	}
	if e.Hub.Connections() != 1 {
		t.Fatal("connection dropped while busy")
	}
}

func TestCompressionAndCapacity(t *testing.T) {
	e := newEnv(t, hub.Options{MaxConnections: 1}, ws.Options{Compression: true})
	d := websocket.Dialer{EnableCompression: true}
	u := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/v1/ws"
	c, resp, err := d.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated: %q", ext)
	}
	send(t, c, `{"op":"subscribe","ref":"1","topics":["z:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("ack %+v", f)
	}
	want := e.Publish(t, "z:1", 3, `{"text":"`+strings.Repeat("compressible ", 100)+`"}`)
	streamtest.SameEvents(t, readEvents(t, c, 3), want)

	// Over MaxConnections: a retryable refusal is a close code after the
	// upgrade (a browser cannot read a refused handshake's status).
	c2, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("second connection over MaxConnections: %v", err)
	}
	defer c2.Close()
	expectRefusal(t, c2, 1013, "over_capacity")
}

// expectRefusal reads until the close frame and checks its code and its
// "<reason>;retry=<ms>" text.
func expectRefusal(t *testing.T, c *websocket.Conn, code int, reason string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	ce, ok := err.(*websocket.CloseError)
	if !ok {
		t.Fatalf("want close %d, got %v", code, err)
	}
	m := regexp.MustCompile(`^(\w+);retry=(\d+)$`).FindStringSubmatch(ce.Text)
	if ce.Code != code || m == nil || m[1] != reason {
		t.Fatalf("close %d %q, want %d %s;retry=<ms>", ce.Code, ce.Text, code, reason)
	}
	if ms, _ := strconv.Atoi(m[2]); ms < 1000 {
		t.Fatalf("retry %d ms, want at least a second", ms)
	}
}

func TestAuthRefreshRules(t *testing.T) {
	g := auth.Grants{Subject: "alice", Subscribe: []string{"a:*"}}
	cases := []struct {
		name string
		v    auth.TokenVerifier
		code string
	}{
		{"other subject", verifier{auth.Grants{Subject: "bob", Subscribe: []string{"*"}}}, "forbidden"},
		{"narrower grants", verifier{auth.Grants{Subject: "alice", Subscribe: []string{"b:*"}}}, "forbidden"},
		{"expired", failVerifier{auth.ErrExpired}, "token_expired"},
		{"invalid", failVerifier{auth.ErrInvalidToken}, "unauthorized"},
		// The verifier's own failure is the authenticator's on the
		// upgrade: internal, its cause logged, not sent (api.Verify).
		{"verifier failure", failVerifier{errors.New("jwks endpoint down")}, "internal"},
		{"no grants", failVerifier{nil}, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, hub.Options{}, ws.Options{Auth: streamtest.GrantsAuth{G: g}, Verifier: tc.v})
			c := dial(t, e, nil)
			send(t, c, `{"op":"subscribe","ref":"s","topics":["a:1"]}`)
			if f := read(t, c); f.Op != "subscribed" {
				t.Fatalf("ack %+v", f)
			}
			send(t, c, `{"op":"auth","ref":"r","token":"t"}`)
			if f := read(t, c); f.Op != "error" || f.Code != tc.code || f.Ref != "r" {
				t.Fatalf("got %+v, want error %s", f, tc.code)
			}
		})
	}
}

type failVerifier struct{ err error }

func (v failVerifier) Verify(context.Context, string) (*auth.Grants, error) { return nil, v.err }

func TestInvalidUTF8AndFutureCursorRefused(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	c := dial(t, e, nil)
	send(t, c, "{\"op\":\"publish\",\"ref\":\"p\",\"topic\":\"a:1\",\"type\":\"x\",\"data\":\"\xff\xfe\"}")
	if f := read(t, c); f.Op != "error" || f.Code != "bad_request" || f.Ref != "p" {
		t.Fatalf("invalid UTF-8 publish: %+v", f)
	}
	const maxID = "18446744073709551615-18446744073709551615"
	send(t, c, `{"op":"subscribe","ref":"m","topics":["a:1"],"cursor":"`+maxID+`"}`)
	if f := read(t, c); f.Op != "error" || f.Code != "bad_cursor" || f.Ref != "m" {
		t.Fatalf("cursor at the max id: %+v", f)
	}
	send(t, c, `{"op":"subscribe","ref":"ok","topics":["a:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("connection unusable after the errors: %+v", f)
	}
}

// TestPublishSharedRefusals: the publish op refuses the cases every way in
// shares (bustest.BadPublishes) as POST /v1/publish does, with the same
// code naming the same field, and publishes nothing for them.
func TestPublishSharedRefusals(t *testing.T) {
	g := auth.Grants{Subject: "u", Subscribe: []string{"*"}, Publish: []string{"*"}}
	e := newEnv(t, hub.Options{}, ws.Options{Auth: streamtest.GrantsAuth{G: g}})
	c := dial(t, e, nil)
	for _, tc := range bustest.BadPublishes() {
		if tc.NotWS {
			continue
		}
		send(t, c, `{"op":"publish","ref":"r",`+tc.Event[1:])
		f := read(t, c)
		want := "bad_request"
		if tc.BadTopic {
			want = "bad_topic"
		}
		// A frame that is not JSON at all has no ref to echo.
		if f.Op != "error" || (f.Ref != "r" && tc.Field != "") || f.Code != want || !strings.Contains(f.Message, tc.Field) {
			t.Errorf("%s: %+v, want error %s naming %q", tc.Name, f, want, tc.Field)
		}
	}
	for _, topic := range []string{"room:b", "order:1"} {
		page, err := e.Bus.History(context.Background(), topic, "", 10)
		if err != nil || len(page.Events) != 0 {
			t.Errorf("%s: %d events published by refused frames (%v)", topic, len(page.Events), err)
		}
	}
}
