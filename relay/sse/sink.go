package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/nbconn"
)

// sink writes one stream. Before start it writes nothing; after start it
// writes either to the hijacked conn (HTTP/1.1, chunked by hand) or through
// the ResponseWriter (HTTP/2). Only the client's writer goroutine calls
// Write and Close.
type sink struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	pool         *sync.Pool
	writeTimeout time.Duration

	// mu orders start (handler goroutine) against a Close the hub may run
	// before the stream started (drain, shutdown).
	mu      sync.Mutex
	started bool
	closed  bool
	// conn is set when hijacked: its writes never wait for the peer.
	conn *nbconn.Conn
	// direct: conn is set and can be written without waiting, so the
	// hub's shared writers may write it (see Stalled).
	direct atomic.Bool
}

// errClosed: the client was closed before its stream started.
var errClosed = errors.New("sse: closed before start")

// preamble starts every stream: the reconnect delay. It has no blank line
// of its own, so it belongs to the stream's first block (ready or an
// event): fetch-event-source hands every block to the application, and a
// block holding only retry: would reach it as an empty message.
const preamble = "retry: 2000\n"

// start sends the response headers and the retry hint. It runs on the
// handler goroutine before anything is queued for the client.
func (s *sink) start(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.started = true
	if r.ProtoMajor == 1 && r.ProtoMinor >= 1 {
		conn, _, err := s.rc.Hijack()
		if err == nil {
			// Anything still buffered from the request is a pipelined
			// request we will never answer: this connection only streams.
			// Dropping w and rc lets net/http's request, response and
			// bufio buffers go (they are most of an idle stream's cost).
			s.conn = nbconn.New(conn, s.writeTimeout)
			s.w, s.rc = nil, nil
			if err := s.startRaw(h); err != nil {
				return err
			}
			s.direct.Store(true)
			return nil
		}
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(preamble)); err != nil {
		return fmt.Errorf("write sse preamble: %w", err)
	}
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("flush sse preamble: %w", err)
	}
	return nil
}

// startRaw writes the status line and headers itself on the hijacked conn.
// The body is chunked so that proxies keeping the upstream connection alive
// see where it ends.
func (s *sink) startRaw(h http.Header) error {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h.Set("Transfer-Encoding", "chunked")
	h.Set("Connection", "close")
	if err := h.Write(&b); err != nil {
		return fmt.Errorf("encode sse headers: %w", err)
	}
	b.WriteString("\r\n")
	b.Write(chunk(nil, []byte(preamble)))
	if _, err := s.conn.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write sse headers: %w", err)
	}
	return nil
}

// internalRetry slows EventSource's reconnect after a server-side failure
// (the bus failed mid-replay): the cause may take a moment to clear.
const (
	internalRetry   = "retry: 5000\n"
	internalRetryMS = 5000
)

// chunk appends p as one HTTP/1.1 chunk.
func chunk(b, p []byte) []byte {
	b = strconv.AppendInt(b, int64(len(p)), 16)
	b = append(b, '\r', '\n')
	b = append(b, p...)
	return append(b, '\r', '\n')
}

// Write encodes every queued item into one buffer and writes it at once.
func (s *sink) Write(c *hub.Client, items []hub.Item) error {
	bp := s.pool.Get().(*[]byte)
	defer s.pool.Put(bp)
	b := (*bp)[:0]
	if s.conn != nil {
		// Room for the chunk size line, filled in below.
		b = append(b, chunkHeadRoom...)
	}
	n := 0
	for i := range items {
		it := &items[i]
		switch it.Kind {
		case hub.KindEvent:
			c.Advance(it)
			b = append(b, "id: "...)
			b = c.AppendCursor(b)
			b = append(b, "\ndata: "...)
			b = appendData(b, it.JSON)
			b = append(b, "\n\n"...)
			n++
		case hub.KindTruncated:
			b = append(b, "event: truncated\ndata: {\"topic\":\""...)
			b = append(b, it.Topic...) // topic charset needs no JSON escaping
			b = append(b, "\"}\n\n"...)
		case hub.KindReady:
			b = append(b, "event: ready\nid: "...)
			mark := len(b)
			b = c.AppendCursor(b)
			cur := b[mark:]
			b = append(b, "\ndata: {\"cursor\":\""...)
			b = append(b, cur...)
			b = append(b, "\"}\n\n"...)
		case hub.KindBeat:
			// A comment line without the blank line that would end a
			// block: no client dispatches anything for it (the spec
			// ignores comments, and fetch-event-source, which hands
			// every block to the application, sees no block end).
			b = append(b, heartbeat...)
		case hub.KindPresence:
			// No id: line, so the browser's Last-Event-ID (the event
			// cursor) is left alone.
			b = append(b, "event: presence\ndata: "...)
			b = append(b, it.JSON...) // compact JSON from relay/presence
			b = append(b, "\n\n"...)
		}
	}
	*bp = b
	c.Deliveries(n)
	return s.write(b)
}

// heartbeat keeps idle proxies and load balancers from closing the stream.
const heartbeat = ": hb\n"

// chunkHeadRoom is reserved at the start of a hijacked write for the chunk
// size line; 8 hex digits cover 4 GiB.
const chunkHeadRoom = "00000000\r\n"

// Stalled: an HTTP/2 stream (no hijack) is written through net/http,
// which waits for the peer, and a hijacked conn may hold a backlog.
func (s *sink) Stalled() bool { return !s.direct.Load() || s.conn.Stalled() }

// Flush writes a hijacked conn's backlog; HTTP/2 writes never leave one.
func (s *sink) Flush() error {
	if !s.direct.Load() {
		return nil
	}
	return s.conn.Flush()
}

func (s *sink) write(b []byte) error {
	if s.conn == nil {
		if err := s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil && err != http.ErrNotSupported {
			return fmt.Errorf("set sse write deadline: %w", err)
		}
		if _, err := s.w.Write(b); err != nil {
			return fmt.Errorf("write sse: %w", err)
		}
		if err := s.rc.Flush(); err != nil {
			return fmt.Errorf("flush sse: %w", err)
		}
		return nil
	}
	size := len(b) - len(chunkHeadRoom)
	if size == 0 {
		return nil
	}
	hex := strconv.AppendInt(make([]byte, 0, 8), int64(size), 16)
	start := len(chunkHeadRoom) - 2 - len(hex)
	copy(b[start:], hex)
	b = append(b, '\r', '\n')
	if _, err := s.conn.Write(b[start:]); err != nil {
		return fmt.Errorf("write sse: %w", err)
	}
	return nil
}

// appendData appends event JSON as one data line. The bus encodes compact
// JSON; a newline would split the SSE field, so compact defensively.
func appendData(b, js []byte) []byte {
	if bytes.IndexByte(js, '\n') < 0 && bytes.IndexByte(js, '\r') < 0 {
		return append(b, js...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, js); err != nil {
		return append(b, "null"...)
	}
	return append(b, buf.Bytes()...)
}

// Close ends the stream, telling the client why when r has a code.
func (s *sink) Close(c *hub.Client, r hub.Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if !s.started {
		return
	}
	if code := r.Code(); code != 0 {
		var b []byte
		if s.conn != nil {
			b = append(b, chunkHeadRoom...)
		}
		// retry: goes in the close event's block (see preamble).
		retry := int64(0)
		switch r {
		case hub.ReasonDrain:
			retry = c.Retry().Milliseconds()
			b = append(b, "retry: "...)
			b = strconv.AppendInt(b, retry, 10)
			b = append(b, '\n')
		case hub.ReasonInternal:
			retry = internalRetryMS
			b = append(b, internalRetry...)
		}
		b = append(b, "event: close\ndata: {\"code\":"...)
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, ",\"reason\":\""...)
		b = append(b, r.Text()...)
		if retry > 0 {
			b = append(b, "\",\"retry\":"...)
			b = strconv.AppendInt(b, retry, 10)
			b = append(b, "}\n\n"...)
		} else {
			b = append(b, "\"}\n\n"...)
		}
		if err := s.write(b); err != nil {
			c.Hub().Options().Logger.Debug("sse close frame", "err", err)
		}
	}
	if s.conn != nil {
		// The last chunk ends the body; the connection is not reused. The
		// hub flushed any backlog first, so this goes out unless the
		// socket filled up just now.
		_, _ = s.conn.Write([]byte("0\r\n\r\n")) // best effort: we close anyway
		_ = s.conn.Close()                       // nothing to do on a close error
	}
}
