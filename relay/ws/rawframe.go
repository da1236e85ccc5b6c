package ws

import (
	"encoding/binary"
	"fmt"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/nbconn"
)

// writeEventsRaw writes {"op":"events","events":[...]} as one unmasked
// text frame (RFC 6455 5.2) built in a shared buffer and written with one
// call on the connection below gorilla. gorilla's NextWriter allocates a
// writer per message and copies through its own pooled buffer; this is the
// fan-out's hot path. It is safe beside gorilla's WriteControl (pongs,
// close): nbconn takes each call whole under its lock (what the socket
// does not take stays ahead of later writes), and this sink is the only
// writer of data frames. Compressed connections use writeEvents.
func (s *sink) writeEventsRaw(c *hub.Client, under *nbconn.Conn, items []hub.Item) error {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	// The header's size depends on the payload's, which ends with the
	// cursor after these events: build the payload after room for the
	// longest header, then write the header right before it.
	b := append((*bp)[:0], make([]byte, maxHeader)...)
	b = appendEvents(b, c, items)
	n := len(b) - maxHeader
	var head [maxHeader]byte
	h := head[:0]
	switch {
	case n < 126:
		h = append(h, 0x81, byte(n))
	case n <= 0xffff:
		h = append(h, 0x81, 126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x81, 127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	start := maxHeader - len(h)
	copy(b[start:], h)
	if cap(b) <= maxPooledFrame {
		*bp = b
	}
	if _, err := under.Write(b[start:]); err != nil {
		return fmt.Errorf("write ws events: %w", err)
	}
	return nil
}

// maxHeader is the longest header of an unmasked server frame.
const maxHeader = 10

// appendEvents appends {"op":"events","events":[...],"resume":"<cursor>"}:
// the events' shared JSON, then the connection's cursor after them
// (advanced here), so a client that keeps the last resume it received
// holds one cursor covering every topic it has events of.
func appendEvents(b []byte, c *hub.Client, items []hub.Item) []byte {
	b = append(b, `{"op":"events","events":[`...)
	for k := range items {
		c.Advance(&items[k])
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, items[k].JSON...)
	}
	b = append(b, `],"resume":"`...)
	b = c.AppendCursor(b) // ids and base64url need no escaping
	return append(b, `"}`...)
}

// maxPooledFrame keeps a huge replay frame's buffer out of the pool.
const maxPooledFrame = 64 << 10
