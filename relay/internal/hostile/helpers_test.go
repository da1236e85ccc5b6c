package hostile

import (
	"bufio"
	"bytes"
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

	"github.com/gorilla/websocket"
)

// Timeouts of one exchange with the relay. Generous: the machine is shared
// and the relay may be built with -race.
const (
	ioTimeout      = 10 * time.Second
	controlTimeout = 10 * time.Second
)

// dialerFrom dials from a chosen loopback address. The relay sees each
// 127.0.0.x as its own client IP, so per-IP limits and the connection cap
// can be exercised from one test process without the cases sharing a
// budget.
func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: ioTimeout}
}

// httpClientFrom is an HTTP client whose connections come from ip. No
// keep-alive: every case gets a fresh connection, and nothing idles after.
func httpClientFrom(ip string) *http.Client {
	return &http.Client{
		Timeout:   ioTimeout,
		Transport: &http.Transport{DialContext: dialerFrom(ip).DialContext, DisableKeepAlives: true},
		// A redirect is an answer to assert, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// errorBody is the relay's JSON error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
}

// answer is a finished HTTP exchange.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string {
	b := a.body
	if len(b) > 300 {
		b = append(b[:300:300], "…"...)
	}
	return fmt.Sprintf("%d %q", a.status, b)
}

// do sends req and reads the whole answer (bounded).
func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", req.Method, req.URL.Path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// checkError asserts the exact status and JSON error code (and that the
// body's status field agrees).
func checkError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status: got %s, want %d %s", a, status, code)
	}
	if code == "" {
		return
	}
	var e errorBody
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("body is not the JSON error shape: %v; got %s", err, a)
	}
	if e.Error.Code != code || e.Error.Status != status || e.Error.Message == "" {
		t.Fatalf("error: got %s, want code %q status %d and a message", a, code, status)
	}
}

// rawExchange writes raw bytes on a fresh connection from ip and reads one
// HTTP answer. For requests net/http's client refuses to send.
func rawExchange(t *testing.T, ip, addr string, raw []byte) answer {
	t.Helper()
	c, err := dialerFrom(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout)) // a failure shows up as a read error below
	// The server may answer (and close) before it read everything, e.g.
	// 431; the answer is what counts, so a write error is not fatal.
	_, werr := c.Write(raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer (write error: %v): %v", werr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status is what is asserted
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// sseStream is an open GET /v1/sse on a raw connection.
type sseStream struct {
	conn net.Conn
	r    *bufio.Reader
}

// sseFrame is one SSE message: its event name, id and data lines joined.
type sseFrame struct {
	event, id, data string
}

// openSSE sends GET path from ip; on 200 it returns the stream (read up to
// and including the ready frame), otherwise the answer.
func openSSE(t *testing.T, ip, addr, path string, header http.Header) (*sseStream, answer) {
	t.Helper()
	s, a, err := tryOpenSSE(t, ip, addr, path, header)
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

// tryOpenSSE is openSSE that returns a stream ending before ready as an
// error.
func tryOpenSSE(t *testing.T, ip, addr, path string, header http.Header) (*sseStream, answer, error) {
	t.Helper()
	c, err := dialerFrom(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n", path, addr)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	_ = c.SetDeadline(time.Now().Add(ioTimeout)) // failures surface as read errors
	if _, err := c.Write(req.Bytes()); err != nil {
		c.Close()
		t.Fatalf("write SSE request: %v", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		t.Fatalf("read SSE answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status is asserted
		c.Close()
		return nil, answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
	}
	s := &sseStream{conn: c, r: bufio.NewReader(resp.Body)}
	for {
		f, err := s.next()
		if err != nil {
			c.Close()
			return nil, answer{status: resp.StatusCode, header: resp.Header}, fmt.Errorf("SSE %.200s: 200, then the stream ended before ready: %w", path, err)
		}
		if f.event == "ready" {
			break
		}
		if f.event == "close" {
			// A retryable refusal: 200, retry: and a close event, then
			// the end of the body (docs/protocol.md).
			c.Close()
			return nil, answer{status: resp.StatusCode, header: resp.Header, body: []byte(f.data)}, nil
		}
	}
	_ = c.SetDeadline(time.Time{}) // the stream stays open; readers set their own
	return s, answer{status: http.StatusOK, header: resp.Header}, nil
}

// next reads one frame (comments and retry-only frames are skipped).
func (s *sseStream) next() (sseFrame, error) {
	var f sseFrame
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return f, fmt.Errorf("read frame: %w", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		switch {
		case line == "":
			if f.event == "" && data == nil {
				continue // retry: frame or a heartbeat comment
			}
			f.data = strings.Join(data, "\n")
			return f, nil
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "event:"):
			f.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "id:"):
			f.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
}

func (s *sseStream) Close() { s.conn.Close() }

// dialWS opens /v1/ws from ip; on a refused handshake it returns the answer.
func dialWS(t *testing.T, ip, baseURL string, header http.Header) (*websocket.Conn, answer) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: dialerFrom(ip).DialContext, HandshakeTimeout: ioTimeout}
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/v1/ws"
	conn, resp, err := d.Dial(u, header)
	if err == nil {
		return conn, answer{status: resp.StatusCode, header: resp.Header}
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status is asserted
	return nil, answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// wsFrame is a server frame, decoded loosely.
type wsFrame struct {
	Op      string            `json:"op"`
	Ref     string            `json:"ref"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Topics  []string          `json:"topics"`
	Events  []json.RawMessage `json:"events"`
}

// readWS reads the next server frame; a close arrives as an error.
func readWS(conn *websocket.Conn) (wsFrame, error) {
	_ = conn.SetReadDeadline(time.Now().Add(ioTimeout)) // failures surface on the read
	typ, b, err := conn.ReadMessage()
	if err != nil {
		return wsFrame{}, err
	}
	var f wsFrame
	if typ != websocket.TextMessage {
		return f, fmt.Errorf("server sent a non-text frame (%d)", typ)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("server frame %q is not JSON: %w", b, err)
	}
	return f, nil
}

// expectWSError reads frames until one with ref answers, and asserts it is
// an error frame with code.
func expectWSError(t *testing.T, conn *websocket.Conn, ref, code string) wsFrame {
	t.Helper()
	for {
		f, err := readWS(conn)
		if err != nil {
			t.Fatalf("waiting for error %s (ref %q): %v", code, ref, err)
		}
		if f.Op == "events" {
			continue
		}
		if f.Ref != ref {
			t.Fatalf("got frame %+v, want error %s for ref %q", f, code, ref)
		}
		if f.Op != "error" || f.Code != code || f.Message == "" {
			t.Fatalf("got %+v, want op error code %s with a message", f, code)
		}
		return f
	}
}

// expectWSClose reads until the connection closes and asserts the code.
func expectWSClose(t *testing.T, conn *websocket.Conn, code int) {
	t.Helper()
	for {
		_, err := readWS(conn)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("want close %d, got %v", code, err)
		}
		if ce.Code != code {
			t.Fatalf("close code: got %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

// wsAlive proves the connection still serves requests after a bad one: a
// subscribe to a fresh granted topic is acknowledged.
func wsAlive(t *testing.T, conn *websocket.Conn, topic string) {
	t.Helper()
	sendWS(t, conn, map[string]any{"op": "subscribe", "ref": "alive", "topics": []string{topic}})
	for {
		f, err := readWS(conn)
		if err != nil {
			t.Fatalf("connection did not stay usable: %v", err)
		}
		if f.Ref == "alive" {
			if f.Op != "subscribed" {
				t.Fatalf("subscribe after the bad frame: got %+v", f)
			}
			return
		}
	}
}

func sendWS(t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	sendWSRaw(t, conn, websocket.TextMessage, b)
}

func sendWSRaw(t *testing.T, conn *websocket.Conn, typ int, b []byte) {
	t.Helper()
	_ = conn.SetWriteDeadline(time.Now().Add(ioTimeout)) // failures surface on the write
	if err := conn.WriteMessage(typ, b); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// checkRetryable asserts a is a retryable refusal of SSE (200 and a close
// event {"code","reason","retry"}, see tryOpenSSE) with code and reason,
// and a retry hint of at least a second.
func checkRetryable(t *testing.T, a answer, code int, reason string) {
	t.Helper()
	var c struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
		Retry  int    `json:"retry"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &c) != nil || c.Code != code || c.Reason != reason || c.Retry < 1000 {
		t.Fatalf("want a retryable refusal (200, close event %d %s, retry >= 1000 ms), got %s", code, reason, a)
	}
}

// wsRetryable asserts the relay upgraded conn and closed it at once with
// code and "<reason>;retry=<ms>" (a retryable refusal).
func wsRetryable(t *testing.T, conn *websocket.Conn, code int, reason string) {
	t.Helper()
	if conn == nil {
		t.Fatalf("WS handshake refused; want an upgrade closed with %d %s", code, reason)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(ioTimeout))
	_, _, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !strings.HasPrefix(ce.Text, reason+";retry=") {
		t.Fatalf("WS: want close %d %s;retry=<ms>, got %v", code, reason, err)
	}
}
