package main

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/chaos"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestServePublishSSEAndWS: events published with POST /v1/publish reach an
// SSE and a WebSocket subscriber of a serve relay on Redis, in order.
func TestServePublishSSEAndWS(t *testing.T) {
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL()})
	tok := r.Token(t, "alice", []string{"order:*"}, nil)
	sse := subscribe(t, r.URL, client.SSE, tok, "order:1")
	ws := subscribe(t, r.URL, client.WebSocket, tok, "order:1")
	sse.waitOpen(t, 1)
	ws.waitOpen(t, 1)
	const n = 20
	for i := range n {
		r.Publish(t, msg("order:1", i))
	}
	checkSequence(t, "sse", sse.waitEvents(t, n, 10*time.Second), n)
	checkSequence(t, "ws", ws.waitEvents(t, n, 10*time.Second), n)
	_, _, metrics := call(t, "GET", r.URL+api.MetricsPath, "", "", "")
	for _, m := range []string{
		"hookrelay_api_publish_duration_seconds_count{outcome=\"ok\"} 20",
		"hookrelay_api_published_events_total 20",
		"hookrelay_bus_published_total 20",
		"hookrelay_connections{transport=\"sse\"} 1",
		"hookrelay_connections{transport=\"ws\"} 1",
		"hookrelay_deliveries_total 40",
	} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
	if code := r.Stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestMoveBetweenRelays: two relays on one Redis behind a proxy standing in
// for the load balancer. Mid-stream the proxy points at B and A goes away,
// drained (SIGTERM: SSE close event / WS 1012) or crashed (SIGKILL); the
// clients resume on B from their cursors and see every event exactly once,
// in order, while a producer keeps publishing through both relays.
func TestMoveBetweenRelays(t *testing.T) {
	for _, how := range []string{"drain", "crash"} {
		t.Run(how, func(t *testing.T) {
			srv := redistest.Start(t)
			a := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL()})
			b := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL()})
			lb := relaytest.NewProxy(t, a.Addr)
			tok := a.Token(t, "alice", []string{"order:*"}, nil)
			sse := subscribe(t, lb.URL, client.SSE, tok, "order:9")
			ws := subscribe(t, lb.URL, client.WebSocket, tok, "order:9")
			sse.waitOpen(t, 1)
			ws.waitOpen(t, 1)

			const n = 300
			var wg sync.WaitGroup
			moved, gone := make(chan struct{}), make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					switch i {
					case n / 3:
						close(moved) // move while events flow...
					case 2 * n / 3:
						<-gone // ...and publish the last third after A is gone
					}
					// Alternate relays; after the move only B is up.
					target := b
					if i%2 == 0 && i < n/3 {
						target = a
					}
					if _, err := target.Publisher().Publish(context.Background(), msg("order:9", i)); err != nil {
						t.Errorf("publish %d to %s: %v", i, target.Addr, err)
						return
					}
					time.Sleep(2 * time.Millisecond) // pace the producer so the move lands mid-stream
				}
			}()
			<-moved
			lb.SetTarget(b.Addr)
			if how == "drain" {
				if code := a.Stop(t); code != 0 {
					t.Errorf("relay A exit code %d after SIGTERM", code)
				}
			} else {
				a.Kill(t)
			}
			close(gone)
			wg.Wait()
			checkSequence(t, "sse", sse.waitEvents(t, n, 20*time.Second), n)
			checkSequence(t, "ws", ws.waitEvents(t, n, 20*time.Second), n)
			sse.waitOpen(t, 2)
			ws.waitOpen(t, 2)
			if how == "drain" {
				if !slices.Contains(sse.closeCodes(), 1012) || !slices.Contains(ws.closeCodes(), 1012) {
					t.Errorf("drain close codes: sse %v ws %v, want 1012", sse.closeCodes(), ws.closeCodes())
				}
				for _, phase := range []string{`"phase":"unready"`, `"phase":"close_clients"`, `"phase":"done"`} {
					if !strings.Contains(a.Stderr(), phase) {
						t.Errorf("drain log lacks %s", phase)
					}
				}
			}
		})
	}
}

// TestReadinessWhileDraining: /readyz fails as soon as SIGTERM arrives and
// stays failed through the grace period while the relay still answers;
// the process exits 0 within the drain deadline.
func TestReadinessWhileDraining(t *testing.T) {
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL(),
		Env: []string{"HOOKRELAY_DRAIN_GRACE=1500ms"}})
	tok := r.Token(t, "alice", []string{"order:*"}, nil)
	sse := subscribe(t, r.URL, client.SSE, tok, "order:1")
	sse.waitOpen(t, 1)
	start := time.Now()
	r.Term(t)
	r.WaitLog(t, `"phase":"unready"`, 5*time.Second)
	status, err := r.Readyz()
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d %v", status, err)
	}
	if s, _, _ := call(t, "GET", r.URL+api.HealthzPath, "", "", ""); s != 200 {
		t.Fatalf("healthz while draining: %d", s)
	}
	code, err := r.Wait(relaytest.DrainTimeout + 10*time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exit %d %v", code, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond+relaytest.DrainTimeout+2*time.Second {
		t.Fatalf("drain took %s", d)
	}
	sse.waitFor(t, "close 1012", 5*time.Second, func() bool { return slices.Contains(sse.closes, 1012) })
}

// TestOverCapacity: at HOOKRELAY_MAX_CONNECTIONS the relay is not ready
// and refuses new SSE and WebSocket connections as retryable: SSE 200 with
// a close event (EventSource takes any non-200 as final), WS close 1013.
func TestOverCapacity(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_MAX_CONNECTIONS=1"}})
	first := subscribe(t, r.URL, client.SSE, "", "order:1")
	first.waitOpen(t, 1)
	status, err := r.Readyz()
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("readyz at capacity: %d %v", status, err)
	}
	s, _, body := call(t, "GET", r.URL+api.SSEPath+"?topic=order:2", "", "", "")
	if s != 200 || !strings.Contains(body, `event: close`+"\n"+`data: {"code":1013,"reason":"over_capacity","retry":`) {
		t.Fatalf("second SSE: %d %s", s, body)
	}
	wsRefusedWith(t, r.Addr, 1013, "over_capacity;retry=")
}

// wsRefusedWith dials /v1/ws and wants the upgrade closed at once with code
// and a reason starting with prefix.
func wsRefusedWith(t *testing.T, addr string, code int, prefix string) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+api.WSPath, nil)
	if err != nil {
		t.Fatalf("WS: %v, want an upgrade closed with %d", err, code)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ReadMessage()
	ce, ok := err.(*websocket.CloseError)
	if !ok || ce.Code != code || !strings.HasPrefix(ce.Text, prefix) {
		t.Fatalf("WS: %v, want close %d %s...", err, code, prefix)
	}
}

// TestAPIErrors: the catalogue's answers from a real serve process,
// including 503 + Retry-After while Redis is down and recovery after.
func TestAPIErrors(t *testing.T) {
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL(), Env: []string{
		"HOOKRELAY_MAX_BODY_BYTES=2048", "HOOKRELAY_PUBLISH_RATE=0.1", "HOOKRELAY_PUBLISH_BURST=3",
		"HOOKRELAY_TOKEN_PUBLISH_RATE=0.1", "HOOKRELAY_TOKEN_PUBLISH_BURST=3",
	}})
	pubURL := r.URL + api.PublishPath
	subOnly := r.Token(t, "alice", []string{"order:*"}, nil)
	roomPub := r.Token(t, "bob", nil, []string{"room:*"})
	good := `{"topic":"room:1","type":"chat.message","data":{"text":"hi"}}`
	cases := []struct {
		name, bearer, ct, body string
		status                 int
		code                   string
	}{
		{"401 no credentials", "", "application/json", good, 401, api.CodeUnauthorized},
		{"401 bad key", "wrong", "application/json", good, 401, api.CodeUnauthorized},
		{"403 no publish grant", subOnly, "application/json", good, 403, api.CodeForbidden},
		{"403 topic outside grant", roomPub, "application/json", `{"topic":"order:1","type":"t"}`, 403, api.CodeForbidden},
		{"413", relaytest.APIKey, "application/json", `{"topic":"a","type":"t","data":"` + strings.Repeat("x", 3000) + `"}`, 413, api.CodeTooLarge},
		{"415", relaytest.APIKey, "text/plain", good, 415, api.CodeUnsupportedMediaType},
		{"400", relaytest.APIKey, "application/json", `{"topic":"order 1","type":"t"}`, 400, api.CodeBadTopic},
	}
	for _, c := range cases {
		s, _, body := call(t, "POST", pubURL, c.bearer, c.ct, c.body)
		if s != c.status || errCode(t, body) != c.code {
			t.Errorf("%s: %d %s", c.name, s, body)
		}
	}
	// The token publisher (bob) has its own bucket: 3 pass, the 4th is 429.
	for i := range 3 {
		if s, _, body := call(t, "POST", pubURL, roomPub, "application/json", good); s != 200 {
			t.Fatalf("publish %d: %d %s", i, s, body)
		}
	}
	s, hdr, body := call(t, "POST", pubURL, roomPub, "application/json", good)
	if s != 429 || hdr.Get("Retry-After") == "" || errCode(t, body) != api.CodeRateLimited {
		t.Fatalf("over the rate: %d Retry-After %q %s", s, hdr.Get("Retry-After"), body)
	}

	srv.Kill()
	s, hdr, body = call(t, "POST", pubURL, relaytest.APIKey, "application/json", good)
	if s != 503 || hdr.Get("Retry-After") == "" || errCode(t, body) != api.CodeBusUnavailable {
		t.Fatalf("redis down: %d Retry-After %q %s", s, hdr.Get("Retry-After"), body)
	}
	if status, _ := r.Readyz(); status != 503 {
		t.Fatalf("readyz with redis down: %d", status)
	}
	srv.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if _, err := r.Publisher().Publish(ctx, msg("room:1", 0)); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("publish did not recover after Redis came back")
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.WaitReady(t, 10*time.Second)
}

// TestConnectionsPerIP: HOOKRELAY_CONNECTIONS_PER_IP refuses a client
// address's next stream as retryable (rate_limited: SSE close event 4029,
// WS close 4029).
func TestConnectionsPerIP(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_CONNECTIONS_PER_IP=1"}})
	first := subscribe(t, r.URL, client.SSE, "", "order:1")
	first.waitOpen(t, 1)
	s, _, body := call(t, "GET", r.URL+api.SSEPath+"?topic=order:2", "", "", "")
	if s != 200 || !strings.Contains(body, `data: {"code":4029,"reason":"rate_limited","retry":`) {
		t.Fatalf("second SSE from one address: %d %s", s, body)
	}
	wsRefusedWith(t, r.Addr, 4029, "rate_limited;retry=")
	if status, _ := r.Readyz(); status != http.StatusOK {
		t.Fatalf("a per-address cap must not fail readiness: %d", status)
	}
}

// TestConnectionsPerIPKeepsIdleWebSocketsParked: the per-address cap wraps
// each hijacked connection, and the wrapper must still expose its socket.
// It once hid it, and every WebSocket then kept a reading goroutine (and
// every write waited on its own goroutine) whenever the cap was on.
func TestConnectionsPerIPKeepsIdleWebSocketsParked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("idle WebSockets are parked in epoll on Linux only")
	}
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_CONNECTIONS_PER_IP=1000"}})
	base := relayGoroutines(t, r.URL)
	const n = 100
	subs := make([]*collector, n)
	for i := range subs {
		subs[i] = subscribe(t, r.URL, client.WebSocket, "", "order:1")
	}
	for _, s := range subs {
		s.waitOpen(t, 1)
	}
	// A reader parks once its socket has nothing more to read.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := relayGoroutines(t, r.URL)
		if g-base < n/4 {
			t.Logf("%d idle WebSockets: %d relay goroutines, %d before", n, g, base)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle WebSockets hold %d more relay goroutines (from %d): not parked", n, g-base, base)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// relayGoroutines reads go_goroutines from the relay's /metrics.
func relayGoroutines(t *testing.T, baseURL string) int {
	t.Helper()
	_, _, body := call(t, "GET", baseURL+"/metrics", "", "", "")
	n, err := chaos.MetricValue([]byte(body), "go_goroutines")
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestSecondSignalForcesExit: a second SIGTERM cuts a long drain short.
func TestSecondSignalForcesExit(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_DRAIN_GRACE=20s", "HOOKRELAY_DRAIN_TIMEOUT=60s"}})
	sub := subscribe(t, r.URL, client.SSE, "", "order:1")
	sub.waitOpen(t, 1)
	start := time.Now()
	r.Term(t)
	r.WaitLog(t, `"phase":"unready"`, 5*time.Second)
	r.Term(t)
	code, err := r.Wait(10 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exit %d %v after two signals", code, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("forced drain took %s", d)
	}
	sub.waitFor(t, "close 1012", 5*time.Second, func() bool { return slices.Contains(sub.closes, 1012) })
}
