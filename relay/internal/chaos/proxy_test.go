package chaos

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer accepts connections and echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// Echo until the peer goes away.
				_, _ = io.Copy(c, c) // the copy's end is the connection's end
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes line and reads it back within timeout.
func roundTrip(c net.Conn, r *bufio.Reader, line string, timeout time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func TestFaultProxyPauseResumeCut(t *testing.T) {
	p, err := NewFaultProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, "one", 2*time.Second); err != nil || got != "one" {
		t.Fatalf("before pause: %q %v", got, err)
	}
	p.Pause()
	if got, err := roundTrip(c, r, "two", 200*time.Millisecond); err == nil {
		t.Fatalf("paused link answered %q", got)
	}
	p.Resume()
	// The held line arrives after Resume.
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("after resume: %q %v", got, err)
	}
	p.Cut()
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read after Cut succeeded")
	}
}

func TestFaultProxyRate(t *testing.T) {
	p, err := NewFaultProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetRate(20 << 10) // 20 KiB/s each way
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line := strings.Repeat("x", 10<<10)
	start := time.Now()
	if got, err := roundTrip(c, bufio.NewReaderSize(c, 16<<10), line, 10*time.Second); err != nil || got != line {
		t.Fatalf("throttled round trip: %d bytes, %v", len(got), err)
	}
	// 10 KiB through a 20 KiB/s bucket with a 2 KiB burst: ~0.4 s or more.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("10 KiB at 20 KiB/s took only %s", d)
	}
}

func TestLBSkipsDeadAndUnready(t *testing.T) {
	var hitsA, hitsB atomic.Int64
	ready := atomic.Bool{}
	ready.Store(true)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		hitsA.Add(1)
	}))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			hitsB.Add(1)
		}
	}))
	dead := freeAddr(t) // nothing listens: a crashed relay
	lb, err := NewLB(strings.TrimPrefix(a.URL, "http://"), dead, strings.TrimPrefix(b.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	get := func() {
		t.Helper()
		// A new connection each time: the LB balances connections.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		resp, err := hc.Get(lb.URL + "/x")
		if err != nil {
			t.Fatalf("through lb: %v", err)
		}
		resp.Body.Close()
	}
	for range 6 {
		get()
	}
	if hitsA.Load() == 0 || hitsB.Load() == 0 || hitsA.Load()+hitsB.Load() != 6 {
		t.Fatalf("hits a=%d b=%d, want both > 0, 6 in all (dead target skipped)", hitsA.Load(), hitsB.Load())
	}
	ready.Store(false)
	waitFor(t, "a unhealthy", 5*time.Second, func() bool { return !lb.Healthy(strings.TrimPrefix(a.URL, "http://")) })
	before := hitsA.Load()
	for range 4 {
		get()
	}
	if hitsA.Load() != before {
		t.Fatalf("unready target got %d new connections", hitsA.Load()-before)
	}
	// Every target down or unready: fail open to the unready one.
	b.Close()
	get()
	if hitsA.Load() != before+1 {
		t.Fatal("with no healthy target the LB did not fail open")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
