package sse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/sse"
)

func TestReceivesPublishedMultiTopic(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	r := streamtest.NewRecorder()
	r.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: []string{"order:1", "order:2"}})
	r.WaitOpen(t)
	want := e.Publish(t, "order:1", 3, `{"n":1}`)
	want = append(want, e.Publish(t, "order:2", 2, `{"n":2}`)...)
	e.Publish(t, "order:3", 2, `{}`) // not subscribed
	got := r.Wait(t, 5)
	streamtest.SameEvents(t, got, want)
	if n := e.Hub.Connections(); n != 1 {
		t.Fatalf("Connections() = %d, want 1", n)
	}
}

// TestResumeWithCursor: a new connection with the last cursor gets exactly
// the events published while it was away, for every topic.
func TestResumeWithCursor(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	topics := []string{"a:1", "b:2"}
	first := streamtest.NewRecorder()
	sub, stop := first.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: topics, Once: true})
	first.WaitOpen(t)
	seen := e.Publish(t, "a:1", 2, `{}`)
	seen = append(seen, e.Publish(t, "b:2", 1, `{}`)...)
	streamtest.SameEvents(t, first.Wait(t, 3), seen)
	stop()
	cursor := sub.Cursor()
	if !strings.HasPrefix(cursor, "v1.") {
		t.Fatalf("multi-topic cursor %q", cursor)
	}
	missed := e.Publish(t, "b:2", 3, `{}`)
	missed = append(missed, e.Publish(t, "a:1", 150, `{}`)...) // more than one replay page

	second := streamtest.NewRecorder()
	second.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: topics, Cursor: cursor})
	second.WaitOpen(t)
	got := second.Wait(t, len(missed))
	// Replay is per topic in the order of the request's topics.
	want := append(slices.Clone(missed[3:]), missed[:3]...)
	streamtest.SameEvents(t, got, want)
	live := e.Publish(t, "a:1", 1, `{}`)
	streamtest.SameEvents(t, second.Wait(t, 1), append(want, live...))
}

// TestUnpositionedTopicStartsAtLastID: the ready cursor covers a topic
// subscribed without a position, so events published before the reconnect
// are not skipped.
func TestUnpositionedTopicStartsAtLastID(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	old := e.Publish(t, "t:1", 2, `{}`)
	resp, br := rawGet(t, e, "/v1/sse?topic=t:1", nil)
	frames := readFrames(t, br, 1)
	// The retry hint shares the first block (no block of its own).
	id := strings.TrimPrefix(old[1], "t:1/")
	if want := "retry: 2000\nevent: ready\nid: " + id + "\ndata: {\"cursor\":\"" + id + "\"}"; frames[0] != want {
		t.Fatalf("first frame %q, want %q", frames[0], want)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(h); got != want {
			t.Fatalf("%s = %q, want %q", h, got, want)
		}
	}
	next := e.Publish(t, "t:1", 1, `{"x":"y"}`)
	f := readFrames(t, br, 1)[0]
	nid := strings.TrimPrefix(next[0], "t:1/")
	if !strings.HasPrefix(f, "id: "+nid+"\ndata: {\"id\":\""+nid+"\",\"topic\":\"t:1\"") {
		t.Fatalf("event frame %q", f)
	}
}

func TestTruncatedBeforeReplay(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	first := e.Publish(t, "t:1", 1, `{}`)
	e.Publish(t, "t:1", 2500, `{}`) // HistoryLen 2000 trims the start
	q := url.Values{"topic": {"t:1"}, "cursor": {strings.TrimPrefix(first[0], "t:1/")}}
	_, br := rawGet(t, e, "/v1/sse?"+q.Encode(), nil)
	frames := readFrames(t, br, 2)
	if frames[0] != "retry: 2000\n"+`event: truncated`+"\n"+`data: {"topic":"t:1"}` {
		t.Fatalf("want truncated before events, got %q", frames[0])
	}
}

func TestLastEventIDWinsOverCursor(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	ids := e.Publish(t, "t:1", 3, `{}`)
	q := url.Values{"topic": {"t:1"}, "cursor": {"0-0"}}
	last := strings.TrimPrefix(ids[1], "t:1/")
	_, br := rawGet(t, e, "/v1/sse?"+q.Encode(), http.Header{"Last-Event-ID": {last}})
	frames := readFrames(t, br, 1)
	want := strings.TrimPrefix(ids[2], "t:1/")
	if !strings.HasPrefix(frames[0], "retry: 2000\nid: "+want+"\n") {
		t.Fatalf("replayed %q, want only %s", frames[0], want)
	}
}

// TestHeartbeat: heartbeats are comment lines without the blank line that
// ends a block, so no client dispatches a message for them
// (fetch-event-source hands every block to the application), and the
// event after them is read whole.
func TestHeartbeat(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{Heartbeat: 30 * time.Millisecond})
	_, br := rawGet(t, e, "/v1/sse?topic=t:1", nil)
	readFrames(t, br, 1)
	for i := 0; i < 2; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != ": hb\n" {
			t.Fatalf("line %d after ready: %q %v, want a heartbeat comment", i, line, err)
		}
	}
	ids := e.Publish(t, "t:1", 1, `{}`)
	if f := readFrames(t, br, 1)[0]; !strings.HasPrefix(f, "id: "+strings.TrimPrefix(ids[0], "t:1/")+"\n") {
		t.Fatalf("event after heartbeats %q", f)
	}
}

func TestTokenExpiryCloses4001(t *testing.T) {
	g := auth.Grants{Subject: "u", Subscribe: []string{"t:*"}, ExpiresAt: time.Now().Add(300 * time.Millisecond)}
	e := newEnv(t, hub.Options{}, sse.Options{Auth: streamtest.GrantsAuth{G: g}, Heartbeat: 20 * time.Millisecond})
	_, br := rawGet(t, e, "/v1/sse?topic=t:1", nil)
	for {
		f := readFrames(t, br, 1)[0]
		if strings.HasPrefix(f, "event: close") {
			if f != "event: close\ndata: {\"code\":4001,\"reason\":\"token expired\"}" {
				t.Fatalf("close frame %q", f)
			}
			break
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("stream did not end after close: %v", err)
	}
}

// TestSlowConsumerKickedAndResumes: a client that stops reading is kicked
// with 4008 once its queue overflows; it resumes from its cursor and ends
// up with every event exactly once.
func TestSlowConsumerKickedAndResumes(t *testing.T) {
	e := newEnv(t, hub.Options{QueueSize: 4}, sse.Options{})
	streamtest.SlowConsumerKickedAndResumes(t, e.Env, client.SSE)
}

// TestDrainClosesAndClientsResumeElsewhere drains a node: every client gets
// retry + close 1012, the node refuses new streams, and the clients resume
// on another node without losing an event.
func TestDrainClosesAndClientsResumeElsewhere(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	var recs []*streamtest.Recorder
	for i := 0; i < 3; i++ {
		r := streamtest.NewRecorder()
		r.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: []string{"d:1"}})
		r.WaitOpen(t)
		recs = append(recs, r)
	}
	want := e.Publish(t, "d:1", 2, `{}`)
	for _, r := range recs {
		r.Wait(t, 2)
	}
	// Raw stream to see the retry hint.
	_, br := rawGet(t, e, "/v1/sse?topic=d:1", nil)
	readFrames(t, br, 1)

	old := e.Hub
	h2, _ := e.newNode(hub.Options{}, sse.Options{})
	t.Cleanup(h2.Close)
	old.Drain(context.Background(), 100*time.Millisecond)
	if old.Connections() != 0 {
		t.Fatalf("%d connections after drain", old.Connections())
	}
	// Only the old node refuses, so ask it directly: a retryable
	// refusal, never a non-200 (EventSource would stop for good).
	rec := httptest.NewRecorder()
	sse.NewHandler(old, sse.Options{Auth: auth.AllowAll{}}).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/sse?topic=d:1", nil))
	checkRefusalBody(t, rec.Code, rec.Header(), rec.Body.String(), 1012, "restart")
	frames := readFrames(t, br, 1)
	m := regexp.MustCompile(`^retry: (\d+)\nevent: close\ndata: \{"code":1012,"reason":"restart","retry":(\d+)\}$`).FindStringSubmatch(frames[0])
	if m == nil || m[1] != m[2] {
		t.Fatalf("drain frame %q", frames[0])
	}
	for _, r := range recs {
		if code := r.WaitClose(t); code != 1012 {
			t.Fatalf("close code %d, want 1012", code)
		}
	}
	want = append(want, e.Publish(t, "d:1", 3, `{}`)...)
	for _, r := range recs {
		streamtest.SameEvents(t, r.Wait(t, 3), want)
	}
}

func TestErrorsBeforeStream(t *testing.T) {
	g := auth.Grants{Subject: "u", Subscribe: []string{"ok:*"}}
	e := newEnv(t, hub.Options{MaxConnections: 1, MaxTopics: 2}, sse.Options{Auth: streamtest.GrantsAuth{G: g}})
	cases := []struct {
		name, query string
		status      int
		code        string
	}{
		{"no topic", "", 400, "bad_topic"},
		{"bad topic", "topic=a%20b", 400, "bad_topic"},
		{"forbidden", "topic=ok:1&topic=other:1", 403, "forbidden"},
		{"bad cursor", "topic=ok:1&cursor=nope", 400, "bad_cursor"},
		{"bare id for two topics", "topic=ok:1&topic=ok:2&cursor=1-0", 400, "bad_cursor"},
		{"too many topics", "topic=ok:1&topic=ok:2&topic=ok:3", 400, "bad_topic"},
		{"cursor in the future", "topic=ok:1&cursor=18446744073709551615-18446744073709551615", 400, "bad_cursor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkError(t, e, "/v1/sse?"+c.query, c.status, c.code)
		})
	}
	_, br := rawGet(t, e, "/v1/sse?topic=ok:1", nil)
	readFrames(t, br, 1)
	checkRefusal(t, e, "/v1/sse?topic=ok:1", 1013, "over_capacity")
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{Auth: denyAuth{auth.ErrExpired}})
	checkError(t, e, "/v1/sse?topic=a", 401, "token_expired")
	e2 := newEnv(t, hub.Options{}, sse.Options{Auth: denyAuth{auth.ErrNoCredentials}})
	checkError(t, e2, "/v1/sse?topic=a", 401, "unauthorized")
}

func TestCORSRefused(t *testing.T) {
	cors := func(w http.ResponseWriter, r *http.Request) bool {
		return r.Header.Get("Origin") == "https://ok.example"
	}
	e := newEnv(t, hub.Options{}, sse.Options{CORS: cors})
	req, _ := http.NewRequest("GET", e.Srv.URL+"/v1/sse?topic=a", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
}

type denyAuth struct{ err error }

func (d denyAuth) Authenticate(context.Context, *http.Request) (*auth.Grants, error) {
	return nil, d.err
}

// checkRefusal asserts that path is refused as retryable: 200, an event
// stream holding one block (retry: and a close event with code and
// reason), then the end of the body.
func checkRefusal(t *testing.T, e *env, path string, code int, reason string) {
	t.Helper()
	resp, err := http.Get(e.Srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read refusal: %v", path, err)
	}
	checkRefusalBody(t, resp.StatusCode, resp.Header, string(body), code, reason)
}

func checkRefusalBody(t *testing.T, status int, h http.Header, body string, code int, reason string) {
	t.Helper()
	if status != http.StatusOK || h.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("refusal answered %d %q: %q", status, h.Get("Content-Type"), body)
	}
	re := regexp.MustCompile(`^retry: (\d+)\nevent: close\ndata: \{"code":(\d+),"reason":"(\w+)","retry":(\d+)\}\n\n$`)
	m := re.FindStringSubmatch(body)
	if m == nil || m[2] != strconv.Itoa(code) || m[3] != reason || m[1] != m[4] {
		t.Fatalf("refusal body %q, want code %d reason %s", body, code, reason)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 1000 {
		t.Fatalf("refusal retry %d ms, want at least a second", ms)
	}
}

func checkError(t *testing.T, e *env, path string, status int, code string) {
	t.Helper()
	resp, err := http.Get(e.Srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: decode error body: %v", path, err)
	}
	if resp.StatusCode != status || body.Error.Code != code || body.Error.Status != status {
		t.Fatalf("%s: %d %+v, want %d %s", path, resp.StatusCode, body.Error, status, code)
	}
	if status == 503 && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: 503 without Retry-After", path)
	}
}

// rawGet opens a stream with a plain connection, to see the exact bytes.
func rawGet(t *testing.T, e *env, path string, h http.Header) (*http.Response, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", e.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := http.NewRequest("GET", e.Srv.URL+path, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp, bufio.NewReader(resp.Body)
}

// readFrames reads n SSE frames (blank-line separated), without the blank
// line and without comment lines (heartbeats), as a client parses them.
func readFrames(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var frames []string
	var cur []string
	for len(frames) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read frame %d: %v (have %q)", len(frames), err, frames)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			frames = append(frames, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		if !strings.HasPrefix(line, ":") {
			cur = append(cur, line)
		}
	}
	return frames
}

// TestHTTP2StreamsWithoutHijack: HTTP/2 cannot be hijacked, so the stream
// is written through the ResponseWriter; drain still ends it properly.
func TestHTTP2StreamsWithoutHijack(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{})
	srv := httptest.NewUnstartedServer(e.Node())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/v1/sse?topic=h2:1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("proto %s, content type %q", resp.Proto, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	if f := readFrames(t, br, 1); !strings.HasPrefix(f[0], "retry: 2000\nevent: ready") {
		t.Fatalf("frames %q", f)
	}
	ids := e.Publish(t, "h2:1", 1, `{}`)
	if f := readFrames(t, br, 1)[0]; !strings.HasPrefix(f, "id: "+strings.TrimPrefix(ids[0], "h2:1/")+"\n") {
		t.Fatalf("event frame %q", f)
	}
	e.Hub.Drain(context.Background(), 0)
	if f := readFrames(t, br, 1); !strings.HasPrefix(f[0], "retry: ") || !strings.Contains(f[0], "\nevent: close\n") || !strings.Contains(f[0], `"code":1012`) {
		t.Fatalf("drain frames %q", f)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("stream did not end: %v", err)
	}
}

// TestGoneClientIsReaped: a hijacked stream has no reader; a client that
// went away is noticed by the failing heartbeat writes.
func TestGoneClientIsReaped(t *testing.T) {
	e := newEnv(t, hub.Options{}, sse.Options{Heartbeat: 10 * time.Millisecond})
	conn, err := net.Dial("tcp", e.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /v1/sse?topic=gone:1 HTTP/1.1\r\nHost: relay\r\n\r\n")
	streamtest.WaitFor(t, "the stream", func() bool { return e.Hub.Connections() == 1 })
	conn.Close()
	streamtest.WaitFor(t, "the gone client to be reaped", func() bool { return e.Hub.Connections() == 0 })
}

// TestCORSHeadersOnHijackedStream: headers the CORS func sets reach the
// client although the stream writes its own status line.
func TestCORSHeadersOnHijackedStream(t *testing.T) {
	cors := func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Add("Vary", "Origin")
		return true
	}
	e := newEnv(t, hub.Options{}, sse.Options{CORS: cors})
	resp, br := rawGet(t, e, "/v1/sse?topic=c:1", http.Header{"Origin": {"https://app.example"}})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	readFrames(t, br, 1)
}
