package e2e_test

import (
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// The page moves from one relay to another behind a load balancer while
// the first one drains. Two kinds of balancer: an HTTP proxy that routes
// every request to the current target (what an ALB does), and relaytest's
// TCP proxy, which routes connections (what an NLB does: a browser's
// keep-alive connection stays on the draining relay).

// balancer is what the page connects through.
type balancer interface {
	BaseURL() string
	SetTarget(addr string)
}

// httpBalancer is an HTTP reverse proxy routing each request to the
// current target.
type httpBalancer struct {
	srv *httptest.Server

	mu     sync.Mutex
	target string
}

func newHTTPBalancer(t *testing.T, target string) *httpBalancer {
	t.Helper()
	lb := &httpBalancer{target: target}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			lb.mu.Lock()
			r.SetURL(&url.URL{Scheme: "http", Host: lb.target})
			lb.mu.Unlock()
			// Keep the browser's Host: the relay checks a WebSocket's
			// Origin against it, as behind a real load balancer.
			r.Out.Host = r.In.Host
		},
		FlushInterval: -1, // SSE: pass every frame on at once
	}
	lb.srv = httptest.NewServer(rp)
	t.Cleanup(func() {
		lb.srv.CloseClientConnections() // open streams would hold Close
		lb.srv.Close()
	})
	return lb
}

func (lb *httpBalancer) BaseURL() string { return lb.srv.URL }

func (lb *httpBalancer) SetTarget(addr string) {
	lb.mu.Lock()
	lb.target = addr
	lb.mu.Unlock()
}

// tcpBalancer adapts relaytest.Proxy.
type tcpBalancer struct{ *relaytest.Proxy }

func (lb tcpBalancer) BaseURL() string { return lb.URL }

// TestE2EOrderPageMovesBetweenRelays: two relays on one Redis behind a
// balancer. The target moves to the second relay and the first drains
// (SIGTERM: streams end with close 1012); the order page and two library
// clients (multi-topic SSE, WebSocket) reconnect through the balancer to
// the second relay and miss nothing.
func TestE2EOrderPageMovesBetweenRelays(t *testing.T) {
	t.Run("http balancer", func(t *testing.T) {
		testMove(t, 15*time.Second, func(t *testing.T, target string) balancer { return newHTTPBalancer(t, target) })
	})
	// Through a TCP balancer the browser can reuse a keep-alive connection
	// that still leads to the draining relay, which refuses new streams
	// until it exits; the backoff grows meanwhile, so the move takes longer.
	t.Run("tcp balancer", func(t *testing.T) {
		testMove(t, 40*time.Second, func(t *testing.T, target string) balancer { return tcpBalancer{relaytest.NewProxy(t, target)} })
	})
}

func testMove(t *testing.T, reopenWithin time.Duration, newBalancer func(*testing.T, string) balancer) {
	srv := startRedis(t)
	a := startDev(t, srv.URL())
	b := startDev(t, srv.URL())
	lb := newBalancer(t, a.Addr)
	br := newBrowser(t)
	page := br.firstTab("orders")
	page.open(lb.BaseURL() + "/orders.html")
	recordStates(page)
	lib := startLibClients(br, lb.BaseURL())

	f := startFeed(b.Publisher(), 20*time.Millisecond)
	page.wait(5*time.Second, "first live notes", notesJS+`.length >= 5`)
	lb.SetTarget(b.Addr)
	moved := time.Now()
	atMove := f.published()
	a.Term(t)
	open, states := reopenedAfter(page, moved, reopenWithin)
	if code, err := a.Wait(relaytest.DrainGrace + relaytest.DrainTimeout + 10*time.Second); err != nil || code != 0 {
		t.Errorf("first relay after SIGTERM: exit %d, %v; want a clean drain", code, err)
	}
	atOpen := f.published()
	page.wait(5*time.Second, "live notes after the move", fmt.Sprintf(`%s.includes("note %d")`, notesJS, atOpen+5))
	n := f.Stop(t)
	waitNotes(t, page, n, 10*time.Second)
	checkLibNotes(t, lib, n)
	var closed time.Time // when the drain close reached the page
	for _, s := range states {
		if s.Code == 1012 && closed.IsZero() {
			closed = time.UnixMilli(s.At)
		}
	}
	if closed.IsZero() {
		t.Fatalf("page never saw the drain close (1012); states after the move: %+v", states)
	}
	t.Logf("SIGTERM -> 1012 at the page: %s (drain grace + stagger); 1012 -> live on the second relay: %s; %d notes published during the move; %d notes in all; states: %+v",
		closed.Sub(moved).Round(time.Millisecond), open.Sub(closed).Round(time.Millisecond), atOpen-atMove, n, states)
	page.noExceptions()
}
