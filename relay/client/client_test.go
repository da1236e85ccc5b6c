package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// recorder collects what a subscriber reports.
type recorder struct {
	mu        sync.Mutex
	ids       []string
	truncated []string
	opens     int
	got       chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1024)} }

func (r *recorder) options(o Options) Options {
	o.OnEvent = func(e Event) {
		r.mu.Lock()
		r.ids = append(r.ids, e.Topic+"/"+e.ID)
		r.mu.Unlock()
		r.got <- struct{}{}
	}
	o.OnTruncated = func(t string) {
		r.mu.Lock()
		r.truncated = append(r.truncated, t)
		r.mu.Unlock()
	}
	o.OnState = func(s State, _ error) {
		if s == Open {
			r.mu.Lock()
			r.opens++
			r.mu.Unlock()
		}
	}
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return o
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("got %d events, want %d", i, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func event(topic, id string) string {
	return fmt.Sprintf(`{"id":%q,"topic":%q,"type":"t","time":"2026-01-01T00:00:00Z","data":{"n":1}}`, id, topic)
}

// TestSSEResumesWithLastEventID scripts a relay that ends the first stream
// with a close event and checks the reconnect carries the last cursor.
func TestSSEResumesWithLastEventID(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Last-Event-ID"))
		n := len(seen)
		mu.Unlock()
		if r.URL.Query()["topic"][0] != "order:1" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad request", 400)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 {
			fmt.Fprintf(w, "retry: 10\n\n: hb\n\nid: 1-0\nevent: ready\ndata: {}\n\n")
			fmt.Fprintf(w, "id: 2-0\ndata: %s\n\n", event("order:1", "2-0"))
			fmt.Fprintf(w, "event: truncated\ndata: {\"topic\":\"order:1\"}\n\n")
			fmt.Fprintf(w, "event: close\ndata: {\"code\":1012,\"reason\":\"restart\"}\n\n")
			return
		}
		fmt.Fprintf(w, "event: ready\ndata: {}\n\nid: 3-0\ndata: %s\n\n", event("order:1", "3-0"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	rec := newRecorder()
	s, err := New(rec.options(Options{BaseURL: srv.URL, Topics: []string{"order:1"}, Token: "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	got := rec.wait(t, 2)
	cancel()
	<-done
	if fmt.Sprint(got) != "[order:1/2-0 order:1/3-0]" {
		t.Fatalf("events %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != "" || seen[1] != "2-0" {
		t.Fatalf("Last-Event-ID per connection = %q, want [\"\" \"2-0\"]", seen)
	}
	if len(rec.truncated) != 1 || rec.opens != 2 {
		t.Fatalf("truncated %v opens %d", rec.truncated, rec.opens)
	}
}

func TestSSEErrorStatusWithOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":"forbidden"}}`, http.StatusForbidden)
	}))
	defer srv.Close()
	s, err := New(Options{BaseURL: srv.URL, Topics: []string{"a"}, Once: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	he, ok := err.(*HTTPError)
	if !ok || he.Status != http.StatusForbidden {
		t.Fatalf("err = %v, want HTTPError 403", err)
	}
}

// TestWSResumesPerTopic checks the reconnect subscribes each topic with the
// last id seen on it, or the position the subscribed ack gave.
func TestWSResumesPerTopic(t *testing.T) {
	var mu sync.Mutex
	var cursors []string
	conns := 0
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		for i := 0; i < 2; i++ {
			var f struct {
				Ref    string   `json:"ref"`
				Topics []string `json:"topics"`
				Cursor string   `json:"cursor"`
			}
			if err := c.ReadJSON(&f); err != nil {
				return
			}
			mu.Lock()
			cursors = append(cursors, f.Topics[0]+"@"+f.Cursor)
			mu.Unlock()
			pos := "5-0"
			if f.Cursor != "" {
				pos = f.Cursor
			}
			c.WriteJSON(map[string]any{"op": "subscribed", "ref": f.Ref, "topics": f.Topics, "cursor": pos})
		}
		if n == 1 {
			c.WriteMessage(websocket.TextMessage, []byte(`{"op":"events","events":[`+event("a", "6-0")+`,`+event("a", "7-0")+`]}`))
			c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4008, "slow consumer"))
			return
		}
		c.WriteMessage(websocket.TextMessage, []byte(`{"op":"events","events":[`+event("b", "8-0")+`]}`))
		c.ReadMessage()
	}))
	defer srv.Close()
	rec := newRecorder()
	s, err := New(rec.options(Options{BaseURL: srv.URL, Topics: []string{"a", "b"}, Transport: WebSocket}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	got := rec.wait(t, 3)
	cancel()
	<-done
	if fmt.Sprint(got) != "[a/6-0 a/7-0 b/8-0]" {
		t.Fatalf("events %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[a@ b@ a@7-0 b@5-0]"
	if fmt.Sprint(cursors) != want {
		t.Fatalf("subscribe cursors %v, want %s", cursors, want)
	}
}

// TestSSECutMidFrameKeepsCursor cuts the stream after an event's id line but
// before its blank line: the event was never dispatched, so the reconnect
// must resume from the previous id and receive it.
func TestSSECutMidFrameKeepsCursor(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Last-Event-ID"))
		n := len(seen)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 {
			fmt.Fprintf(w, "event: ready\ndata: {}\n\nid: 1-0\ndata: %s\n\nid: 2-0\ndata: %s", event("order:1", "1-0"), event("order:1", "2-0"))
			return // cut: 2-0 has no terminating blank line
		}
		fmt.Fprintf(w, "event: ready\ndata: {}\n\nid: 2-0\ndata: %s\n\n", event("order:1", "2-0"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	rec := newRecorder()
	s, err := New(rec.options(Options{BaseURL: srv.URL, Topics: []string{"order:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	got := rec.wait(t, 2)
	cancel()
	<-done
	if fmt.Sprint(got) != "[order:1/1-0 order:1/2-0]" {
		t.Fatalf("events %v, want 1-0 then 2-0 once", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || seen[1] != "1-0" {
		t.Fatalf("Last-Event-ID per connection = %q, want the reconnect to carry 1-0", seen)
	}
}
