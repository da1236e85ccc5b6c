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
	const head = `{"op":"events","events":[`
	const tail = `]}`
	n := len(head) + len(tail) + len(items) - 1
	for k := range items {
		n += len(items[k].JSON)
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	b := (*bp)[:0]
	switch {
	case n < 126:
		b = append(b, 0x81, byte(n))
	case n <= 0xffff:
		b = append(b, 0x81, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x81, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, head...)
	for k := range items {
		c.Advance(&items[k])
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, items[k].JSON...)
	}
	b = append(b, tail...)
	if cap(b) <= maxPooledFrame {
		*bp = b
	}
	if _, err := under.Write(b); err != nil {
		return fmt.Errorf("write ws events: %w", err)
	}
	return nil
}

// maxPooledFrame keeps a huge replay frame's buffer out of the pool.
const maxPooledFrame = 64 << 10
