package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// sub is one benchmark subscriber: a lean client (no per-connection
// http.Transport) so that one load process holds ~19k connections.
type sub struct {
	w     *worker
	idx   int // within its load process
	src   net.IP
	relay string // host:port
	topic string
	// lastSeq is written by the connection's goroutine and polled by the
	// worker while it waits for stragglers.
	lastSeq atomic.Int64
	ended   atomic.Bool // the connection's goroutine returned
	// lastID is the cursor after the last event received (single topic:
	// the bare id), so a dropped connection resumes from it as a real
	// client does; wasReady: the first ready/subscribed was counted.
	lastID   []byte
	wasReady bool
	// rxNS is the kernel's receive time of what is being decoded, set by
	// the epoll reader before each feed (0: unknown, use the read time).
	rxNS int64
}

// ready counts the subscriber ready once, not again after a resume.
func (s *sub) ready() {
	if !s.wasReady {
		s.wasReady = true
		s.w.ready.Add(1)
	}
}

func (s *sub) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: s.src}, Timeout: 10 * time.Second}
}

// handshake is a connection to the relay whose response head was read.
type handshake struct {
	c    net.Conn
	br   *bufio.Reader // holds what was read past the head
	resp *http.Response
	// stop detaches ctx's end from closing c; false means it closed c.
	stop func() bool
}

func (h *handshake) close() {
	h.stop()
	h.c.Close()
}

// open dials the relay from s's source address, sends req and reads the
// response head, which must have status want (what names the stream in
// the error). Until stop, ctx's end closes the connection; the caller
// closes it with close.
func (s *sub) open(ctx context.Context, req string, want int, what string) (*handshake, error) {
	c, err := s.dialer().DialContext(ctx, "tcp", s.relay)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", s.relay, s.src, err)
	}
	h := &handshake{c: c, stop: context.AfterFunc(ctx, func() { c.Close() })}
	if err := h.read(req, want, what); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *handshake) read(req string, want int, what string) error {
	if _, err := io.WriteString(h.c, req); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	h.br = bufio.NewReaderSize(h.c, 2048)
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s status %d", what, resp.StatusCode)
	}
	h.resp = resp
	return nil
}

// runSSE reads one SSE stream until ctx ends.
func (s *sub) runSSE(ctx context.Context) error {
	resume := ""
	if len(s.lastID) > 0 {
		resume = "Last-Event-ID: " + string(s.lastID) + "\r\n"
	}
	req := "GET /v1/sse?" + url.Values{"topic": {s.topic}}.Encode() + " HTTP/1.1\r\nHost: " + s.relay +
		"\r\nAccept: text/event-stream\r\n" + resume + "\r\n"
	h, err := s.open(ctx, req, http.StatusOK, "sse")
	if err != nil {
		return err
	}
	defer h.close()
	chunked := len(h.resp.TransferEncoding) > 0 && h.resp.TransferEncoding[0] == "chunked"
	if r := s.w.streamReader(s); r != nil && h.stop() {
		return s.handOff(ctx, r, h.c, h.br, func(int) func([]byte) error {
			p := &sseStream{chunked: chunked}
			var event []byte
			line := func(l []byte) { s.sseLine(&event, l) }
			return func(b []byte) error { return p.feed(b, line) }
		})
	}
	var body io.Reader = h.br
	if chunked {
		body = bufio.NewReaderSize(httputil.NewChunkedReader(h.br), 2048)
	}
	return s.readSSE(bufio.NewReaderSize(body, 2048))
}

func (s *sub) readSSE(r *bufio.Reader) error {
	var event []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("sse read: %w", err)
		}
		s.sseLine(&event, line)
	}
}

// sseLine handles one SSE line; event is the current frame's event name.
func (s *sub) sseLine(event *[]byte, line []byte) {
	switch {
	case bytes.HasPrefix(line, []byte("id: ")):
		if len(*event) == 0 || string(*event) == "ready" { // the cursor after this frame
			s.lastID = append(s.lastID[:0], bytes.TrimSpace(line[4:])...)
		}
	case bytes.HasPrefix(line, []byte("data: ")):
		if len(*event) == 0 {
			s.event(line)
		}
	case bytes.HasPrefix(line, []byte("event: ")):
		*event = append((*event)[:0], bytes.TrimSpace(line[7:])...)
		if string(*event) == "ready" {
			s.ready()
		} else if string(*event) == "close" {
			s.w.kicked.Add(1)
		}
	case len(line) <= 2: // blank line ends a frame
		*event = (*event)[:0]
	}
}

// handOff has one epoll loop read the rest of c's stream with many others
// (reader_linux.go), so no goroutine is woken per event; this goroutine
// only waits for the stream's end. br holds what the handshake read
// ahead; decoder makes the stream's decoder given its file descriptor.
func (s *sub) handOff(ctx context.Context, r *streamReader, c net.Conn, br *bufio.Reader, decoder func(fd int) func([]byte) error) error {
	leftover, _ := br.Peek(br.Buffered()) // buffered bytes: Peek cannot fail
	st, err := r.add(c, leftover, &s.rxNS, decoder)
	if err != nil {
		return err
	}
	select {
	case err := <-st.done:
		return fmt.Errorf("read: %w", err)
	case <-ctx.Done():
		r.remove(st) // before the caller's Close: the fd must not be read once closed
		return nil
	}
}

// runWS reads one WebSocket connection until ctx ends.
func (s *sub) runWS(ctx context.Context) error {
	if r := s.w.streamReader(s); r != nil {
		return s.runWSRaw(ctx, r)
	}
	d := websocket.Dialer{NetDialContext: s.dialer().DialContext, ReadBufferSize: 2048, WriteBufferSize: 512}
	c, resp, err := d.DialContext(ctx, "ws://"+s.relay+"/v1/ws", nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("ws status %d", resp.StatusCode)
		}
		return fmt.Errorf("ws dial from %s: %w", s.src, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, s.subscribeFrame()); err != nil {
		return fmt.Errorf("ws subscribe: %w", err)
	}
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code == 4008 {
				s.w.kicked.Add(1)
			}
			return fmt.Errorf("ws read: %w", err)
		}
		s.wsMessage(msg)
	}
}

// subscribeFrame is the subscribe request, resuming from lastID if set.
func (s *sub) subscribeFrame() []byte {
	cursor := ""
	if len(s.lastID) > 0 {
		cursor = `,"cursor":"` + string(s.lastID) + `"`
	}
	return []byte(`{"op":"subscribe","ref":"1","topics":["` + s.topic + `"]` + cursor + `}`)
}

// wsMessage handles one text message from the relay.
func (s *sub) wsMessage(msg []byte) {
	switch {
	case bytes.HasPrefix(msg, []byte(`{"op":"events"`)):
		if i := bytes.LastIndex(msg, []byte(`{"id":"`)); i >= 0 {
			id := msg[i+7:]
			if j := bytes.IndexByte(id, '"'); j >= 0 {
				s.lastID = append(s.lastID[:0], id[:j]...)
			}
		}
		for rest := msg; ; {
			i := bytes.Index(rest, []byte(`"seq":`))
			if i < 0 {
				break
			}
			s.event(rest[i:])
			rest = rest[i+6:]
		}
	case bytes.HasPrefix(msg, []byte(`{"op":"subscribed"`)):
		if i := bytes.Index(msg, []byte(`"cursor":"`)); i >= 0 && len(s.lastID) == 0 {
			cur := msg[i+10:]
			if j := bytes.IndexByte(cur, '"'); j >= 0 {
				s.lastID = append(s.lastID[:0], cur[:j]...)
			}
		}
		s.ready()
	}
}

// runWSRaw does the WebSocket handshake by hand and hands the connection
// to an epoll loop, like runSSE: gorilla's reader needs a goroutine per
// connection. Client frames are masked with a zero key (RFC 6455 allows
// any key; the relay only needs the mask bit).
func (s *sub) runWSRaw(ctx context.Context, r *streamReader) error {
	req := "GET /v1/ws HTTP/1.1\r\nHost: " + s.relay + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	h, err := s.open(ctx, req, http.StatusSwitchingProtocols, "ws")
	if err != nil {
		return err
	}
	defer h.close()
	if _, err := h.c.Write(clientFrame(0x1, s.subscribeFrame())); err != nil {
		return fmt.Errorf("ws subscribe: %w", err)
	}
	if !h.stop() {
		return ctx.Err() // h.c is closed
	}
	return s.handOff(ctx, r, h.c, h.br, func(fd int) func([]byte) error {
		p := &wsStream{}
		handle := func(op byte, payload []byte) error {
			switch op {
			case 0x1, 0x2:
				s.wsMessage(payload)
			case 0x9: // ping: answer from the loop, a few bytes on a socket we never fill
				return writeFD(fd, clientFrame(0xA, payload))
			case 0x8:
				code := 1005
				if len(payload) >= 2 {
					code = int(payload[0])<<8 | int(payload[1])
				}
				if code == 4008 {
					s.w.kicked.Add(1)
				}
				return fmt.Errorf("closed by the relay with %d", code)
			}
			return nil
		}
		return func(b []byte) error { return p.feed(b, handle) }
	})
}

// clientFrame is one final client frame of op with a zero masking key.
func clientFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0) // masking key: XOR with zeros leaves the payload as is
	return append(b, payload...)
}

// event records one delivery whose data holds {"seq":N,"ts":unix-nanos}.
func (s *sub) event(b []byte) {
	seq, ok := intAfter(b, `"seq":`)
	if !ok {
		return
	}
	if ts, ok := intAfter(b, `"ts":`); ok {
		now := time.Now().UnixNano()
		rx := s.rxNS
		if rx == 0 {
			rx = now
		} else {
			s.w.rxStamped.Add(1)
		}
		s.w.lat.add(time.Duration(now - ts))
		s.w.rxLat.add(time.Duration(rx - ts))
	}
	last := s.lastSeq.Load()
	switch {
	case seq <= last:
		s.w.dups.Add(1)
	case seq > last+1:
		s.w.lost.Add(seq - last - 1)
		s.lastSeq.Store(seq)
	default:
		s.lastSeq.Store(seq)
	}
	s.w.received.Add(1)
}

// intAfter parses the integer following key in b.
func intAfter(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}
