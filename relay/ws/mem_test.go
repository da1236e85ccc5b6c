package ws_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// idleCost opens n idle subscribed WebSockets and returns heap+stack growth
// per connection, the same for n minimal gorilla pairs (a server that
// upgrades and keeps the conn, no goroutine), and goroutines per connection.
func idleCost(tb testing.TB, n int) (perConn, perBarePair, goroutinesPerConn float64) {
	e := newEnv(tb, hub.Options{}, ws.Options{Ping: time.Hour})
	url := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/v1/ws"
	d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256}
	open := func(u string, i int, subscribe bool) *websocket.Conn {
		c, _, err := d.Dial(u, nil)
		if err != nil {
			tb.Fatalf("dial %d: %v", i, err)
		}
		if subscribe {
			if err := c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"op":"subscribe","ref":"1","topics":["idle:%d"]}`, i%100))); err != nil {
				tb.Fatal(err)
			}
			if _, _, err := c.ReadMessage(); err != nil {
				tb.Fatal(err)
			}
		}
		return c
	}
	warm := make([]*websocket.Conn, 0, 200)
	for i := range 200 {
		warm = append(warm, open(url, i, true))
	}
	before, g0 := heapAndStack(), runtime.NumGoroutine()
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		conns = append(conns, open(url, i, true))
	}
	after, g1 := heapAndStack(), runtime.NumGoroutine()
	if p := os.Getenv("HR_HEAPPROF"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	perConn = float64(after-before) / float64(n)
	goroutinesPerConn = float64(g1-g0) / float64(n)
	for _, c := range append(conns, warm...) {
		c.Close()
	}

	held := make(chan *websocket.Conn, n+1)
	up := websocket.Upgrader{ReadBufferSize: 256, WriteBufferSize: 256}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, nil); err == nil {
			held <- c
		}
	}))
	defer bare.Close()
	burl := "ws" + strings.TrimPrefix(bare.URL, "http")
	open(burl, -1, false)
	<-held
	before = heapAndStack()
	pairs := make([]*websocket.Conn, 0, 2*n)
	for i := range n {
		pairs = append(pairs, open(burl, i, false), <-held)
	}
	after = heapAndStack()
	perBarePair = float64(after-before) / float64(n)
	for _, c := range pairs {
		c.Close()
	}
	return perConn, perBarePair, goroutinesPerConn
}

func heapAndStack() int64 {
	var m runtime.MemStats
	// Several cycles: each GC halves a goroutine stack that uses under a
	// quarter of it, so stacks grown while handling a subscribe shrink
	// back as they would on a long-running idle server.
	for range 6 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	if os.Getenv("HR_MEMDEBUG") != "" {
		fmt.Fprintf(os.Stderr, "heap %d stack %d\n", m.HeapAlloc, m.StackInuse)
	}
	return int64(m.HeapAlloc + m.StackInuse)
}

// BenchmarkIdleMemory measures idle subscribed WebSockets. Run with
// -benchtime=1x.
func BenchmarkIdleMemory(b *testing.B) {
	for range b.N {
		conn, bare, gor := idleCost(b, 5000)
		b.ReportMetric(conn, "B/conn")
		b.ReportMetric(bare, "B/bare-pair")
		b.ReportMetric(conn-bare/2, "B/server-side")
		b.ReportMetric(gor, "goroutines/conn")
	}
}

// TestIdleConnMemory guards the connection-memory budget (<= 8 KiB per idle
// connection, DESIGN.md) for the server side of a subscribed WebSocket.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	conn, bare, gor := idleCost(t, 1000)
	server := conn - bare/2
	t.Logf("per idle WebSocket: %.0f B in all, %.0f B per bare gorilla pair, ~%.0f B server side, %.2f goroutines", conn, bare, server, gor)
	if server > 8<<10 {
		t.Fatalf("server side of an idle WebSocket costs %.0f B, budget 8 KiB", server)
	}
	// The process's RSS is about twice the live heap and stacks (GC
	// headroom, docs/performance.md), so live bytes get half the budget
	// where idle connections wait in epoll with no goroutine (~1.9 KB).
	if runtime.GOOS == "linux" && (server > 3<<10 || gor > 0.01) {
		t.Fatalf("idle WebSocket: %.0f B live server side (budget 3 KiB), %.2f goroutines (want 0)", server, gor)
	}
}
