package ws

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
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
	// under, when set, is the connection below gorilla whose write
	// deadline the sink re-arms only when half of it is used (see
	// deadlineConn); deadline is the one set (writer goroutine only).
	under    net.Conn
	deadline time.Time
	// raw: compression is off, so events frames are built here and
	// written to under in one call (rawframe.go); bufs are the handler's
	// shared frame buffers.
	raw  bool
	bufs *sync.Pool
}

// attach hands the upgraded conn to the sink; false means the client was
// closed meanwhile and conn has been closed with the client's reason.
func (s *sink) attach(conn *websocket.Conn, under net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		msg := websocket.FormatCloseMessage(websocket.CloseServiceRestart, "restart")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.writeTimeout)) // best effort
		_ = conn.Close()                                                                   // nothing to do on a close error
		return false
	}
	s.conn = conn
	s.under = under
	return true
}

// Write sends queued items in order: consecutive events as one events
// frame, every other item as its own frame.
func (s *sink) Write(c *hub.Client, items []hub.Item) error {
	deadline := time.Now().Add(s.writeTimeout)
	if err := s.setDeadline(deadline); err != nil {
		return fmt.Errorf("set ws write deadline: %w", err)
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
			if s.raw && s.under != nil {
				err = s.writeEventsRaw(c, items[i:j])
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
				b = appendAck(nil, it.Ack.Ref, it.Ack.Topics, c.AppendCursorOf(nil, it.Ack.Topics))
				err = s.conn.WriteMessage(websocket.TextMessage, b)
			}
		case hub.KindBeat:
			err = s.conn.WriteControl(websocket.PingMessage, nil, deadline)
		case hub.KindFrame:
			err = s.conn.WriteMessage(websocket.TextMessage, it.JSON)
		}
		if err != nil {
			return fmt.Errorf("write ws frame: %w", err)
		}
		i++
	}
	return nil
}

// setDeadline gives the writes that follow between half and all of the
// write timeout, moving the deadline only when half of it is used.
func (s *sink) setDeadline(deadline time.Time) error {
	if s.under == nil {
		return s.conn.SetWriteDeadline(deadline)
	}
	if s.deadline.Sub(deadline) >= -s.writeTimeout/2 {
		return nil
	}
	s.deadline = deadline
	return s.under.SetWriteDeadline(deadline)
}

// writeEvents streams {"op":"events","events":[...]} straight into
// gorilla's pooled write buffer: each event's shared JSON is copied once.
func (s *sink) writeEvents(c *hub.Client, items []hub.Item) error {
	w, err := s.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return fmt.Errorf("ws events frame: %w", err)
	}
	if _, err := w.Write([]byte(`{"op":"events","events":[`)); err != nil {
		return fmt.Errorf("write ws events: %w", err)
	}
	for k := range items {
		c.Advance(&items[k])
		if k > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return fmt.Errorf("write ws events: %w", err)
			}
		}
		if _, err := w.Write(items[k].JSON); err != nil {
			return fmt.Errorf("write ws events: %w", err)
		}
	}
	if _, err := w.Write([]byte(`]}`)); err != nil {
		return fmt.Errorf("write ws events: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("flush ws events: %w", err)
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
		msg := websocket.FormatCloseMessage(code, r.Text())
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.writeTimeout)) // best effort: we close anyway
	}
	_ = s.conn.Close() // nothing to do on a close error
}
