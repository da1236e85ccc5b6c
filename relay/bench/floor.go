package bench

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// floorServer is the reference the relay's CPU and latency targets were
// set against: the ~60-line SSE broadcaster of the relay issue, which
// hijacks the connection after the headers, parks one reader with a 1-byte
// buffer per connection and writes each frame directly, with a deadline,
// from the publishing goroutine. It does nothing else (no queues, cursors,
// replay, auth beyond the key, metrics), so on a given machine its CPU per
// delivery is the floor for a Go SSE server: `relay bench --server floor`
// runs the same load against it that `relay bench` runs against the relay.
type floorServer struct {
	key  string
	mu   sync.Mutex
	subs map[net.Conn]struct{}
	seq  int
}

// runFloor is `relay bench floor`: serve on HOOKRELAY_ADDR until ctx ends.
func runFloor(ctx context.Context) error {
	addr := os.Getenv("HOOKRELAY_ADDR")
	f := &floorServer{subs: make(map[net.Conn]struct{})}
	if _, key, ok := strings.Cut(os.Getenv("HOOKRELAY_API_KEYS"), ":"); ok {
		f.key = key
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /v1/sse", f.stream)
	mux.HandleFunc("POST /v1/publish", f.publish)
	// The relay's server settings (relay/app), so that `relaybench publish
	// --server floor` measures the HTTP/1.1 cost the relay cannot avoid.
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		_ = srv.Close() // ends ListenAndServe
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("floor server: %w", err)
	}
	return nil
}

func (f *floorServer) stream(w http.ResponseWriter, r *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// `event: ready` is what the load tool counts a subscriber ready by.
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n" +
		"retry: 2000\n\nevent: ready\ndata: {}\n\n"
	if _, err := c.Write([]byte(head)); err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.subs[c] = struct{}{}
	f.mu.Unlock()
	go func() {
		var b [1]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				break
			}
		}
		f.mu.Lock()
		delete(f.subs, c)
		f.mu.Unlock()
		c.Close()
	}()
}

// publish does what the relay's publish route does at the HTTP level and
// nothing else: request deadlines (relay/api bounded), the key check, the
// body read, and an answer with the relay's headers and a receipt of the
// same size.
func (f *floorServer) publish(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(30 * time.Second)
	_ = rc.SetReadDeadline(deadline) // unsupported deadlines only leave the request unbounded
	_ = rc.SetWriteDeadline(deadline)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+f.key)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seq++
	id := strconv.Itoa(f.seq)
	frame := append([]byte("id: "+id+"\ndata: "), body...)
	frame = append(frame, "\n\n"...)
	conns := make([]net.Conn, 0, len(f.subs))
	for c := range f.subs {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a failed set surfaces as a write error
		if _, err := c.Write(frame); err != nil {
			c.Close() // the reader goroutine forgets it
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"events":[{"id":"1764766112000-` + id + `","topic":"bench:p0","duplicate":false}]}` + "\n"))
}
