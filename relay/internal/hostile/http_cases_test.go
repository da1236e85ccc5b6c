package hostile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// readHeaderTimeout is the relay's header read timeout (relay/app/app.go;
// not configurable).
const readHeaderTimeout = 10 * time.Second

func httpCases() []badCase {
	return []badCase{
		{name: "http/header-too-large", run: func(t *testing.T, e *env) {
			raw := "GET /healthz HTTP/1.1\r\nHost: " + e.addr + "\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n"
			a := rawExchange(t, caseIP, e.addr, []byte(raw))
			// net/http answers this itself, in text/plain.
			checkError(t, a, http.StatusRequestHeaderFieldsTooLarge, "")
		}},
		{name: "http/request-line-crlf-injection", run: func(t *testing.T, e *env) {
			// A raw CR inside the request target: malformed, 400 from net/http.
			raw := "GET /v1/sse?topic=order:1\rX-Injected:1 HTTP/1.1\r\nHost: " + e.addr + "\r\n\r\n"
			a := rawExchange(t, caseIP, e.addr, []byte(raw))
			checkError(t, a, http.StatusBadRequest, "")
		}},
		{name: "http/smuggling-cl-and-te", run: func(t *testing.T, e *env) {
			body := `{"topic":"order:1","type":"x"}`
			raw := "POST /v1/publish HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: Bearer " + relaytest.APIKey +
				"\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
				fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) + "GET /v1/admin HTTP/1.1\r\nHost: x\r\n\r\n"
			// RFC 9112 6.3: Transfer-Encoding wins, and the server must close
			// the connection after answering, so the smuggled second request
			// is never served.
			c, err := dialerFrom(caseIP).Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout)) // failures surface as read errors
			if _, err := c.Write([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("read answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body) // asserted through the status
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %d %q, want the chunked body published (200) or 400", resp.StatusCode, b)
			}
			if second, err := http.ReadResponse(br, nil); err == nil {
				t.Fatalf("the smuggled request was answered: %d", second.StatusCode)
			}
		}},
		{name: "http/smuggling-two-content-lengths", run: func(t *testing.T, e *env) {
			raw := "POST /v1/publish HTTP/1.1\r\nHost: " + e.addr + "\r\nAuthorization: Bearer " + relaytest.APIKey +
				"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}"
			a := rawExchange(t, caseIP, e.addr, []byte(raw))
			checkError(t, a, http.StatusBadRequest, "")
		}},
		{name: "ws/handshake-unsupported-version", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"order:*"}, nil)
			raw := "GET /v1/ws HTTP/1.1\r\nHost: " + e.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
			a := rawExchange(t, caseIP, e.addr, []byte(raw))
			checkError(t, a, http.StatusBadRequest, "bad_request")
		}},
		{name: "http/unknown-v1-route", status: 404, code: "not_found",
			req: func(t *testing.T, e *env) *http.Request { return newReq(t, e, http.MethodGet, "/v1/admin", nil) }},
		{name: "http/dot-segments-redirect-to-clean-path", status: 307,
			header: map[string]string{"Location": "/v1/admin"},
			req:    func(t *testing.T, e *env) *http.Request { return newReq(t, e, http.MethodGet, "/v1/../v1/admin", nil) }},
		{name: "http/method-not-allowed", status: 405, code: "method_not_allowed",
			req: func(t *testing.T, e *env) *http.Request { return newReq(t, e, http.MethodDelete, "/v1/publish", nil) }},
		{name: "http/connection-cap", run: connectionCap},
		{name: "http/connections-per-ip", run: connectionsPerIP},
	}
}

// readyz returns /readyz's status and body fields.
func (e *env) readyz(t *testing.T) (int, string, int, string) {
	t.Helper()
	a := do(t, e.client, newReq(t, e, http.MethodGet, "/readyz", nil))
	var body struct {
		Status      string `json:"status"`
		Connections int    `json:"connections"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("/readyz body: %v: %s", err, a)
	}
	return a.status, body.Status, body.Connections, a.header.Get("Retry-After")
}

// waitConnections waits until the relay holds n connections: the cases
// before leaked none (closes are asynchronous, so poll).
func (e *env) waitConnections(t *testing.T, n int) {
	t.Helper()
	var got int
	if !waitFor(context.Background(), 2*heartbeat+10*time.Second, func() bool {
		_, _, got, _ = e.readyz(t)
		return got == n
	}) {
		t.Fatalf("relay holds %d connections, want %d", got, n)
	}
}

// connectionCap fills the node (MAX_CONNECTIONS, the control stream
// counts), then checks the next SSE and WS are refused as retryable
// (over_capacity: SSE 200 + close event, WS close 1013; never a non-200,
// which EventSource takes as final), /readyz says over_capacity (503 +
// Retry-After for the load balancer), and everything recovers once
// the streams close. Each stream comes from its own address so a per-IP
// limit cannot be what refuses it.
func connectionCap(t *testing.T, e *env) {
	e.waitConnections(t, 1)
	tok := e.token(t, "alice", []string{"order:*"}, nil)
	h := http.Header{"Authorization": {"Bearer " + tok}}
	var held []*sseStream
	defer func() {
		for _, s := range held {
			s.Close()
		}
	}()
	for i := range maxConns - 1 {
		s, a := openSSE(t, fmt.Sprintf("127.0.0.%d", capIPBase+i), e.addr, "/v1/sse?topic=order:cap", h)
		if s == nil {
			t.Fatalf("stream %d of %d refused: %s", i+2, maxConns, a)
		}
		held = append(held, s)
	}
	ip := fmt.Sprintf("127.0.0.%d", capIPBase+maxConns)
	s, a := openSSE(t, ip, e.addr, "/v1/sse?topic=order:cap", h)
	if s != nil {
		s.Close()
		t.Fatal("SSE over capacity: the stream opened")
	}
	checkRetryable(t, a, 1013, "over_capacity")
	wc, _ := dialWS(t, ip, e.url, h)
	wsRetryable(t, wc, 1013, "over_capacity")
	status, ready, conns, retry := e.readyz(t)
	if status != 503 || ready != "over_capacity" || conns != maxConns || retry != "5" {
		t.Errorf("/readyz at capacity: %d %q connections=%d Retry-After=%q, want 503 over_capacity %d 5", status, ready, conns, retry, maxConns)
	}
	for _, s := range held {
		s.Close()
	}
	held = nil
	e.waitConnections(t, 1)
	if status, ready, _, _ := e.readyz(t); status != 200 || ready != "ready" {
		t.Fatalf("/readyz after the streams closed: %d %q", status, ready)
	}
}

// connectionsPerIP opens HOOKRELAY_CONNECTIONS_PER_IP streams from one
// address; the next one from it must be refused before the stream starts.
func connectionsPerIP(t *testing.T, e *env) {
	e.waitConnections(t, 1)
	tok := e.token(t, "alice", []string{"order:*"}, nil)
	h := http.Header{"Authorization": {"Bearer " + tok}}
	var held []*sseStream
	defer func() {
		for _, s := range held {
			s.Close()
		}
	}()
	for i := range connsPerIP {
		s, a := openSSE(t, perIPIP, e.addr, "/v1/sse?topic=order:perip", h)
		if s == nil {
			t.Fatalf("stream %d of %d from one IP refused: %s", i+1, connsPerIP, a)
		}
		held = append(held, s)
	}
	s, a := openSSE(t, perIPIP, e.addr, "/v1/sse?topic=order:perip", h)
	if s != nil {
		s.Close()
		t.Fatalf("stream %d from %s accepted: HOOKRELAY_CONNECTIONS_PER_IP=%d not enforced", connsPerIP+1, perIPIP, connsPerIP)
	}
	checkRetryable(t, a, 4029, "rate_limited")
	wc, _ := dialWS(t, perIPIP, e.url, h)
	wsRetryable(t, wc, 4029, "rate_limited")
	// Another address is not affected, and the slots come back once the
	// streams are gone (noticed at the next heartbeat).
	other, oa := openSSE(t, caseIP, e.addr, "/v1/sse?topic=order:perip", h)
	if other == nil {
		t.Fatalf("another address refused: %s", oa)
	}
	other.Close()
	for _, s := range held {
		s.Close()
	}
	held = nil
	e.waitConnections(t, 1)
	again, ra := openSSE(t, perIPIP, e.addr, "/v1/sse?topic=order:perip", h)
	if again == nil {
		t.Fatalf("after its streams closed, %s is still refused: %s", perIPIP, ra)
	}
	again.Close()
}

// slowloris is a client that sends its request headers one byte at a time
// and never finishes them.
type slowloris struct {
	start  time.Time
	closed chan struct{} // the server closed the connection
	got    []byte        // what the server sent before closing
	took   time.Duration // from dial to the close
	err    error
	stop   context.CancelFunc
}

func startSlowloris(t *testing.T, e *env) *slowloris {
	t.Helper()
	conn, err := dialerFrom(slowIP).Dial("tcp", e.addr)
	if err != nil {
		t.Fatalf("slowloris dial: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &slowloris{start: time.Now(), closed: make(chan struct{}), stop: cancel}
	t.Cleanup(func() {
		cancel()
		conn.Close()
		<-s.closed
	})
	go func() {
		req := "GET /healthz HTTP/1.1\r\nHost: " + e.addr + "\r\nX-Slow: " + strings.Repeat("z", 1000)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if _, err := conn.Write([]byte{req[i%len(req)]}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer close(s.closed)
		// Bounded by the test: the cleanup closes the connection.
		_ = conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 30*time.Second))
		s.got, s.err = io.ReadAll(conn)
		s.took = time.Since(s.start)
	}()
	return s
}

// verify: the server closed the connection at its header read timeout,
// without an answer (net/http does not answer a timed-out request).
func (s *slowloris) verify(t *testing.T) {
	deadline := time.NewTimer(time.Until(s.start.Add(readHeaderTimeout + 10*time.Second)))
	defer deadline.Stop()
	select {
	case <-s.closed:
	case <-deadline.C:
		t.Fatalf("slowloris connection still open %s after it started (header read timeout %s)", time.Since(s.start).Round(time.Millisecond), readHeaderTimeout)
	}
	s.stop()
	var ne net.Error
	if errors.As(s.err, &ne) && ne.Timeout() {
		t.Fatalf("the server never closed the slowloris connection")
	}
	t.Logf("slowloris closed by the server after %s (%v)", s.took.Round(time.Millisecond), s.err)
	if s.took < readHeaderTimeout-time.Second || s.took > readHeaderTimeout+3*time.Second {
		t.Errorf("slowloris closed after %s, want about the header read timeout %s", s.took, readHeaderTimeout)
	}
	if len(s.got) != 0 {
		t.Errorf("server answered a request it never finished reading: %q", s.got)
	}
}
