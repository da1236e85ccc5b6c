package sse_test

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// hangupDeadline bounds how long a hang-up may take to close the hub
// client. The heartbeat in these tests is a minute, so only the hang-up
// watch (not a failing heartbeat write) can meet it.
const hangupDeadline = 5 * time.Second

// openIdle opens a hijacked stream on a raw conn and reads up to its ready
// event.
func openIdle(t *testing.T, e *env, topic string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", e.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /v1/sse?topic=%s HTTP/1.1\r\nHost: relay\r\n\r\n", topic)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream %s: %v", topic, err)
		}
		if strings.HasPrefix(line, "event: ready") {
			readFrames(t, br, 1) // the rest of the ready block
			return conn.(*net.TCPConn), br
		}
	}
}

// waitConnections polls until the hub holds n connections, failing after
// hangupDeadline.
func waitConnections(t *testing.T, h *hub.Hub, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(hangupDeadline)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for h.Connections() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d connections after %v, want %d (heartbeat is a minute)", what, h.Connections(), hangupDeadline, n)
		}
		<-tick.C
	}
}

// TestHangupClosesIdleStream: an idle hijacked stream whose client closes
// (FIN), resets (RST) or sends bytes (a pipelined request it will never
// get answered) is closed at once, not at the next heartbeat; the stream
// left open keeps streaming.
func TestHangupClosesIdleStream(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hang-up watch is Linux-only; elsewhere heartbeats find closed streams")
	}
	e := newEnv(t, hub.Options{}, sse.Options{Heartbeat: time.Minute})
	_, keepR := openIdle(t, e, "hang:keep")
	cases := []struct {
		name   string
		hangUp func(*net.TCPConn)
	}{
		{"fin", func(c *net.TCPConn) { c.Close() }},
		{"half-close", func(c *net.TCPConn) { _ = c.CloseWrite() }},
		{"rst", func(c *net.TCPConn) { _ = c.SetLinger(0); c.Close() }},
		{"pipelined", func(c *net.TCPConn) { fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: relay\r\n\r\n") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := e.Hub.Connections()
			c, _ := openIdle(t, e, "hang:"+tc.name)
			waitConnections(t, e.Hub, base+1, "open")
			tc.hangUp(c)
			waitConnections(t, e.Hub, base, tc.name)
		})
	}
	e.Publish(t, "hang:keep", 1, `{"still":"here"}`)
	if f := readFrames(t, keepR, 1)[0]; !strings.Contains(f, `{"still":"here"}`) {
		t.Fatalf("the stream left open got %q", f)
	}
}
