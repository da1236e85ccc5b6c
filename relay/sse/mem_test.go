package sse_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// idleCost opens n idle SSE streams (raw loopback conns, one topic each out
// of 100) and returns the heap+stack growth per stream, the same for n bare
// TCP connection pairs (what any connection costs, client side included),
// and the goroutines per stream.
func idleCost(tb testing.TB, n int) (perStream, perBarePair, goroutinesPerStream float64) {
	e := newEnv(tb, hub.Options{}, sse.Options{Heartbeat: time.Hour})
	addr := e.Srv.Listener.Addr().String()
	buf := make([]byte, 1024)
	open := func(i int) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			tb.Fatalf("dial %d: %v", i, err)
		}
		fmt.Fprintf(c, "GET /v1/sse?topic=idle:%d HTTP/1.1\r\nHost: relay\r\n\r\n", i%100)
		var got []byte
		for !bytes.Contains(got, []byte("event: ready")) {
			k, err := c.Read(buf)
			if err != nil {
				tb.Fatalf("stream %d: %v", i, err)
			}
			got = append(got, buf[:k]...)
		}
		return c
	}
	// Warm pools, the bus's topics and the hub's maps.
	warm := make([]net.Conn, 0, 200)
	for i := range 200 {
		warm = append(warm, open(i))
	}
	before, g0 := heapAndStack(), runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		conns = append(conns, open(i))
	}
	after, g1 := heapAndStack(), runtime.NumGoroutine()
	perStream = float64(after-before) / float64(n)
	goroutinesPerStream = float64(g1-g0) / float64(n)
	for _, c := range append(conns, warm...) {
		c.Close()
	}
	e.Hub.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	before = heapAndStack()
	pairs := make([]net.Conn, 0, 2*n)
	for i := range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatalf("bare dial %d: %v", i, err)
		}
		pairs = append(pairs, c, <-accepted)
	}
	after = heapAndStack()
	perBarePair = float64(after-before) / float64(n)
	for _, c := range pairs {
		c.Close()
	}
	return perStream, perBarePair, goroutinesPerStream
}

func heapAndStack() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

// TestIdleStreamMemory guards the connection-memory budget (<= 8 KiB per
// idle connection, DESIGN.md) with 1,000 streams: the server side of an
// idle stream (its stream cost minus one bare TCP conn) must stay under it.
func TestIdleStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	stream, bare, gor := idleCost(t, 1000)
	server := stream - bare/2
	t.Logf("per idle stream: %.0f B in all, %.0f B per bare TCP pair, ~%.0f B server side, %.2f goroutines", stream, bare, server, gor)
	if server > 8<<10 {
		t.Fatalf("server side of an idle SSE stream costs %.0f B, budget 8 KiB", server)
	}
	if gor > 0.05 {
		t.Fatalf("%.2f goroutines per idle stream, want none", gor)
	}
}

// BenchmarkIdleMemory measures 9,000 idle streams (the fd limit here is
// 20,000; each stream takes two). Run with -benchtime=1x.
func BenchmarkIdleMemory(b *testing.B) {
	for range b.N {
		stream, bare, gor := idleCost(b, 9000)
		b.ReportMetric(stream, "B/stream")
		b.ReportMetric(bare, "B/bare-pair")
		b.ReportMetric(stream-bare/2, "B/server-side")
		b.ReportMetric(gor, "goroutines/stream")
	}
}
