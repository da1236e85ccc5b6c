package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// wsStream decodes server-to-client WebSocket frames (RFC 6455 5.2:
// unmasked) incrementally from whatever bytes a read returned, for the
// epoll loop of the load processes (reader_linux.go). It reassembles
// fragmented messages and passes control frames through as they come.
type wsStream struct {
	hdr  []byte // partial frame header
	left int    // payload bytes of the current frame still to come (0: a header is next)
	op   byte   // opcode of the current frame
	fin  bool
	ctl  []byte // partial control frame payload
	msg  []byte // message assembled from data frames so far
	mop  byte   // opcode of the message being assembled
}

// maxWSMessage bounds a message the tool assembles.
const maxWSMessage = 16 << 20

// feed decodes b, calling msg for each complete message or control frame
// (op is the WebSocket opcode; payload is only valid during the call).
func (p *wsStream) feed(b []byte, msg func(op byte, payload []byte) error) error {
	for len(b) > 0 {
		if p.left == 0 { // between frames: a header
			need, ok := headerLen(append(p.hdr, b[:min(len(b), 2)]...))
			if !ok {
				return errors.New("ws frame header: masked or reserved bits from the server")
			}
			if len(p.hdr)+len(b) < need {
				p.hdr = append(p.hdr, b...)
				return nil
			}
			k := need - len(p.hdr)
			h := append(p.hdr, b[:k]...)
			b, p.hdr = b[k:], p.hdr[:0]
			if err := p.start(h); err != nil {
				return err
			}
			if p.left == 0 {
				if err := p.end(nil, msg); err != nil {
					return err
				}
			}
			continue
		}
		k := min(p.left, len(b))
		chunk := b[:k]
		b, p.left = b[k:], p.left-k
		if p.left > 0 { // the frame goes on in a later read
			p.keep(chunk)
			continue
		}
		if err := p.end(chunk, msg); err != nil {
			return err
		}
	}
	return nil
}

// headerLen returns the full header length the first bytes of h call for.
func headerLen(h []byte) (int, bool) {
	if len(h) < 2 {
		return 2, true
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return 0, false
	}
	switch h[1] & 0x7f {
	case 126:
		return 4, true
	case 127:
		return 10, true
	}
	return 2, true
}

func (p *wsStream) start(h []byte) error {
	p.fin, p.op = h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:])
	}
	control := p.op >= 0x8
	switch {
	case control && (n > 125 || !p.fin):
		return fmt.Errorf("ws control frame %#x: %d bytes, fin %v", p.op, n, p.fin)
	case p.op == 0 && p.mop == 0:
		return errors.New("ws continuation frame outside a message")
	case (p.op == 1 || p.op == 2) && p.mop != 0:
		return errors.New("ws data frame inside a fragmented message")
	case !control && p.op > 2:
		return fmt.Errorf("ws reserved opcode %#x", p.op)
	case n > maxWSMessage-uint64(len(p.msg)): // not n+len: a 64-bit length can wrap that sum
		return fmt.Errorf("ws message over %d bytes", maxWSMessage)
	}
	if p.op == 1 || p.op == 2 {
		p.mop = p.op
	}
	p.left = int(n)
	return nil
}

// keep buffers part of the current frame's payload.
func (p *wsStream) keep(b []byte) {
	if p.op >= 0x8 {
		p.ctl = append(p.ctl, b...)
	} else {
		p.msg = append(p.msg, b...)
	}
}

// end finishes the current frame whose last payload bytes are rest; what
// came before is buffered. A payload read whole in one read is passed on
// without a copy.
func (p *wsStream) end(rest []byte, msg func(op byte, payload []byte) error) error {
	if p.op >= 0x8 {
		payload := rest
		if len(p.ctl) > 0 {
			payload = append(p.ctl, rest...)
		}
		err := msg(p.op, payload)
		p.ctl = p.ctl[:0]
		return err
	}
	if !p.fin {
		p.keep(rest)
		return nil
	}
	payload := rest
	if len(p.msg) > 0 {
		payload = append(p.msg, rest...)
	}
	err := msg(p.mop, payload)
	p.msg, p.mop = p.msg[:0], 0
	return err
}
