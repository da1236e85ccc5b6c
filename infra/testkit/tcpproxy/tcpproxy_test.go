package tcpproxy

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer answers each line on a connection with name + ": " + line.
func echoServer(t *testing.T, name string) string {
	return countingEchoServer(t, name, new(atomic.Int64))
}

// countingEchoServer is echoServer counting the connections it accepts.
func countingEchoServer(t *testing.T, name string, accepted *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write([]byte(name + ": " + sc.Text() + "\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// client is one connection through the proxy.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends line and returns the answer, or the read error within wait.
func (c *client) ask(t *testing.T, line string, wait time.Duration) (string, error) {
	t.Helper()
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	return c.read(wait)
}

func (c *client) read(wait time.Duration) (string, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(wait))
	s, err := c.r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

func TestForwardAndSetTarget(t *testing.T) {
	a, b := echoServer(t, "a"), echoServer(t, "b")
	p := New(t, a)
	old := dial(t, p.Addr)
	if got, err := old.ask(t, "1", 10*time.Second); err != nil || got != "a: 1" {
		t.Fatalf("through the proxy: %q %v, want a: 1", got, err)
	}
	p.SetTarget(b)
	if got, err := dial(t, p.Addr).ask(t, "2", 10*time.Second); err != nil || got != "b: 2" {
		t.Fatalf("new connection after SetTarget: %q %v, want b: 2", got, err)
	}
	if got, err := old.ask(t, "3", 10*time.Second); err != nil || got != "a: 3" {
		t.Fatalf("open connection after SetTarget: %q %v, want it still on a", got, err)
	}
	p.CloseConns()
	if got, err := old.read(10 * time.Second); err == nil {
		t.Fatalf("read after CloseConns: %q, want the connection closed", got)
	}
}

func TestPauseHoldsBytesUntilResume(t *testing.T) {
	p := New(t, echoServer(t, "a"))
	c := dial(t, p.Addr)
	if _, err := c.ask(t, "warm", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Pause()
	// Nothing may come back while paused; a short wait can only miss a
	// leak, never fail a correct proxy.
	if got, err := c.ask(t, "held", 200*time.Millisecond); err == nil {
		t.Fatalf("answer while paused: %q", got)
	}
	p.Resume()
	if got, err := c.read(10 * time.Second); err != nil || got != "a: held" {
		t.Fatalf("after Resume: %q %v, want the held line", got, err)
	}
}

func TestCloseRefusesAndEnds(t *testing.T) {
	p := New(t, echoServer(t, "a"))
	c := dial(t, p.Addr)
	if _, err := c.ask(t, "1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Pause() // Close must not hang on a paused connection
	p.Close()
	if got, err := c.read(10 * time.Second); err == nil {
		t.Fatalf("read after Close: %q, want the connection closed", got)
	}
	if c2, err := net.Dial("tcp", p.Addr); err == nil {
		_ = c2.Close()
		t.Fatal("dial after Close succeeded")
	}
}

// TestPauseHoldsNewConnectionsUndialled: a connection accepted during a
// Pause does not reach the target until Resume (a partitioned relay cannot
// open a fresh connection to Redis either), and a cut while it waits ends
// it without ever dialling.
func TestPauseHoldsNewConnectionsUndialled(t *testing.T) {
	var accepted atomic.Int64
	p := New(t, countingEchoServer(t, "a", &accepted))
	p.Pause()
	c := dial(t, p.Addr)
	// A short wait can only miss an early dial, never fail a correct proxy.
	if got, err := c.ask(t, "held", 200*time.Millisecond); err == nil {
		t.Fatalf("answer while paused: %q", got)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("target accepted %d connections during the Pause, want 0", n)
	}
	p.Resume()
	if got, err := c.read(10 * time.Second); err != nil || got != "a: held" {
		t.Fatalf("after Resume: %q %v, want the held line", got, err)
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("target accepted %d connections, want 1", n)
	}

	p.Pause()
	waiting := dial(t, p.Addr)
	if _, err := waiting.c.Write([]byte("never\n")); err != nil {
		t.Fatal(err)
	}
	// The kernel completes a dial before the proxy accepts it: cut only
	// once the proxy holds it.
	for deadline := time.Now().Add(10 * time.Second); p.held() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d connections, want 2", p.held())
		}
		<-time.After(2 * time.Millisecond) // poll, bounded by the deadline
	}
	p.CloseConns()
	got, err := waiting.read(10 * time.Second)
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("read after a cut during the Pause: %q %v, want the connection closed", got, err)
	}
	p.Resume()
	if n := accepted.Load(); n != 1 {
		t.Fatalf("target accepted %d connections, want still 1 (the cut one was never dialled)", n)
	}
}

// TestSetRateThrottles: a throttled link still delivers every byte, in
// order, and is slower than the budget allows to go unthrottled; SetRate(0)
// lifts it.
func TestSetRateThrottles(t *testing.T) {
	p := New(t, echoServer(t, "a"))
	p.SetRate(20 << 10) // 20 KiB/s each way, 2 KiB burst
	c := dial(t, p.Addr)
	line := strings.Repeat("x", 10<<10)
	start := time.Now()
	if got, err := c.ask(t, line, 30*time.Second); err != nil || got != "a: "+line {
		t.Fatalf("throttled round trip: %d bytes, %v", len(got), err)
	}
	// ~20 KiB through a 20 KiB/s bucket: well over 0.5 s; a lower bound
	// only, which a busy machine cannot break.
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("20 KiB at 20 KiB/s took only %s", d)
	}
	p.SetRate(0)
	if got, err := c.ask(t, "free", 10*time.Second); err != nil || got != "a: free" {
		t.Fatalf("after SetRate(0): %q %v", got, err)
	}
}

// held is how many connections the proxy tracks.
func (p *Proxy) held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}
