package ws

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/nbconn"
)

// sink writes to one WebSocket. Only the client's writer goroutine calls it,
// which makes it the one goroutine writing to conn (gorilla's rule);
// gorilla's own close echo and read-limit 1009 use WriteControl, which may
// run concurrently with it.
type sink struct {
	writeTimeout time.Duration

	// mu orders attach (handler goroutine) against a Close the hub may
	// run before the upgrade finished (drain, shutdown).
	mu     sync.Mutex
	conn   *websocket.Conn
	closed bool
	// under, once attached, is the connection below gorilla (gorilla
	// writes through it too): writes never wait for the peer, so the
	// hub's shared writers may write this client while it is not Stalled.
	// Atomic because the hub asks Stalled from any goroutine.
	under atomic.Pointer[nbconn.Conn]
	// raw: compression is off, so events frames are built here and
	// written to under in one call (rawframe.go); bufs are the handler's
	// shared frame buffers.
	raw  bool
	bufs *sync.Pool
}

// attach hands the upgraded conn to the sink; false means the client was
// closed meanwhile and conn has been closed with the client's reason.
func (s *sink) attach(conn *websocket.Conn, under *nbconn.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		msg := websocket.FormatCloseMessage(websocket.CloseServiceRestart, "restart")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.writeTimeout)) // best effort
		_ = conn.Close()                                                                   // nothing to do on a close error
		return false
	}
	s.conn = conn
	s.under.Store(under)
	return true
}

// Write sends queued items in order: consecutive events as one events
// frame, every other item as its own frame.
func (s *sink) Write(c *hub.Client, items []hub.Item) error {
	under := s.under.Load()
	if under == nil {
		// gorilla writes the conn itself and waits for the peer.
		if err := s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
			return fmt.Errorf("set ws write deadline: %w", err)
		}
	}
	events := 0
	defer func() { c.Deliveries(events) }()
	for i := 0; i < len(items); {
		it := &items[i]
		var err error
		switch it.Kind {
		case hub.KindEvent:
			j := i + 1
			for j < len(items) && items[j].Kind == hub.KindEvent {
				j++
			}
			if s.raw && under != nil {
				err = s.writeEventsRaw(c, under, items[i:j])
			} else {
				err = s.writeEvents(c, items[i:j])
			}
			events += j - i
			i = j
			if err != nil {
				return err
			}
			continue
		case hub.KindTruncated:
			b := append([]byte(`{"op":"truncated","topic":`), appendString(nil, it.Topic)...)
			err = s.conn.WriteMessage(websocket.TextMessage, append(b, '}'))
		case hub.KindReady:
			var b []byte
			if it.Ack != nil {
				b = appendAck(nil, it.Ack.Ref, it.Ack.Topics, c.AppendCursorOf(nil, it.Ack.Topics), c.AppendCursor(nil))
				err = s.conn.WriteMessage(websocket.TextMessage, b)
			}
		case hub.KindBeat:
			err = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.writeTimeout))
		case hub.KindFrame:
			err = s.conn.WriteMessage(websocket.TextMessage, it.JSON)
		case hub.KindPresence:
			err = s.conn.WriteMessage(websocket.TextMessage, presenceFrame(it.JSON))
		}
		if err != nil {
			return fmt.Errorf("write ws frame: %w", err)
		}
		i++
	}
	return nil
}

// Stalled: without the conn below gorilla every write may wait; with it,
// only a backlog makes the next write wait.
func (s *sink) Stalled() bool {
	under := s.under.Load()
	return under == nil || under.Stalled()
}

// Flush writes the backlog the socket could not take at once.
func (s *sink) Flush() error {
	if under := s.under.Load(); under != nil {
		return under.Flush()
	}
	return nil
}

// writeEvents writes the events frame through gorilla (compressed
// connections): built in a shared buffer like writeEventsRaw.
func (s *sink) writeEvents(c *hub.Client, items []hub.Item) error {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	b := appendEvents((*bp)[:0], c, items)
	if cap(b) <= maxPooledFrame {
		*bp = b
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write ws events: %w", err)
	}
	return nil
}

// Close sends the close frame for r (if it has a code) and closes.
func (s *sink) Close(c *hub.Client, r hub.Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return // the upgrade has not happened; attach closes it
	}
	if code := r.Code(); code != 0 {
		text := r.Text()
		if r == hub.ReasonDrain {
			// The drain's jittered reconnect hint, as refusals send it.
			text += ";retry=" + strconv.FormatInt(c.Retry().Milliseconds(), 10)
		}
		msg := websocket.FormatCloseMessage(code, text)
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.writeTimeout)) // best effort: we close anyway
	}
	_ = s.conn.Close() // nothing to do on a close error
}
