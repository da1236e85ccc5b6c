package api_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/relay/api"
)

// TestConnectionsPerIP: a stream handler that hijacks and returns at once
// (as relay/sse does) keeps its address's slot until the connection is
// closed; over the cap the answer is 429 + Retry-After.
func TestConnectionsPerIP(t *testing.T) {
	closeConn := make(chan struct{})
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		// The transports write without waiting and park idle readers
		// through the socket's descriptor: the slot-releasing wrapper
		// must not hide it (it did, and both fell back to a goroutine
		// and deadlines per connection whenever the cap was on).
		if sc, ok := c.(syscall.Conn); !ok {
			t.Errorf("hijacked conn %T has no SyscallConn", c)
		} else if raw, err := sc.SyscallConn(); err != nil || raw == nil {
			t.Errorf("SyscallConn: %v", err)
		}
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")); err != nil {
			t.Errorf("write: %v", err)
		}
		go func() { <-closeConn; c.Close() }()
	})
	b := memory.New(bus.Options{})
	defer b.Close()
	srv := httptest.NewServer(api.New(api.Deps{Bus: b, Auth: auth.AllowAll{}, SSE: stream, ConnLimit: limit.NewConcurrent(2)}))
	defer srv.Close()

	open := func() (int, string) {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("GET " + api.SSEPath + "?topic=a HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range 2 {
		if s, _ := open(); s != 200 {
			t.Fatalf("stream %d: %d", i, s)
		}
	}
	if s, ra := open(); s != 429 || ra == "" {
		t.Fatalf("third stream from one address: %d Retry-After %q", s, ra)
	}
	// Errors answered before a hijack give the slot back at once.
	if s, _ := open(); s != 429 {
		t.Fatalf("fourth: %d", s)
	}
	close(closeConn)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := open()
		if s == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slots not released after the streams closed: %d", s)
		}
		time.Sleep(20 * time.Millisecond) // poll interval; the close runs on the stream's goroutine
	}
}
