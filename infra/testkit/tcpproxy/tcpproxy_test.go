package tcpproxy

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer answers each line on a connection with name + ": " + line.
func echoServer(t *testing.T, name string) string {
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
