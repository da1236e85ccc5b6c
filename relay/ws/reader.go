package ws

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/internal/nbconn"
)

// An idle WebSocket costs what its reader goroutine keeps. gorilla's read
// path (ReadMessage -> advanceFrame -> bufio -> net.Conn.Read) grows a
// goroutine's stack to 4 KiB, and the runtime keeps a stack that uses more
// than a quarter of it, so a reader parked inside ReadMessage holds 4 KiB
// for the life of the connection (plus as much again of GC headroom, since
// stacks count towards the heap goal). Instead an idle connection waits in
// the handler's epoll set with no goroutine at all (poller_linux.go), or,
// where that is unavailable, on a goroutine that only waits for the socket
// to become readable (a shallow call that stays in the initial 2 KiB
// stack); a short-lived goroutine reads what arrived.
//
// That needs two things gorilla does not offer: knowing whether its reader
// still holds buffered bytes (so we never wait on the socket for data
// already read), and reading without blocking for the next data frame
// after a control frame (ReadMessage handles pings and pongs internally
// and keeps reading). The first comes from handing gorilla our own small
// bufio.Reader through Hijack; the second from consuming complete ping and
// pong frames from that reader ourselves, between messages.

// smallReaderSize is the per-connection read buffer: just above gorilla's
// 256 bytes floor for reusing a hijacked reader (and an allocation size
// class), enough for any control frame; gorilla peeks only frame headers,
// so larger frames just take more reads.
const smallReaderSize = 288

// hijacker hands gorilla a small bufio.Reader of our own in place of
// net/http's 4 KiB one, and remembers it.
type hijacker struct {
	http.ResponseWriter
	br  *bufio.Reader
	raw syscall.RawConn // nil when the connection does not expose its fd
	// under is the hijacked connection, wrapped so that writes never
	// wait for the peer; gorilla and the sink both write through it.
	under        *nbconn.Conn
	writeTimeout time.Duration
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Reader.Buffered() > 0 {
		// Bytes sent before the handshake finished: gorilla refuses
		// them; keep net/http's reader so it sees them.
		return conn, brw, nil
	}
	h.br = bufio.NewReaderSize(conn, smallReaderSize)
	h.raw = rawConnOf(conn)
	h.under = nbconn.New(conn, h.writeTimeout)
	return h.under, bufio.NewReadWriter(h.br, brw.Writer), nil
}

// releaseReadBuffer drops br's (empty) buffer while the connection is
// parked: an idle connection then holds no read buffer. gorilla keeps a
// pointer to br but reads through it only on our read goroutine, after
// restoreReadBuffer; a parked br is never read.
func releaseReadBuffer(br *bufio.Reader) { *br = bufio.Reader{} }

// restoreReadBuffer gives br a fresh buffer reading from conn again.
func restoreReadBuffer(br *bufio.Reader, conn io.Reader) {
	*br = *bufio.NewReaderSize(conn, smallReaderSize)
}

// consumeControl reads the complete ping and pong frames at the front of
// br and answers them as gorilla would (pong -> read deadline moved; ping
// -> pong). It stops at anything else: a data or close frame, a frame not
// yet fully buffered, or one gorilla should reject (it reports the
// protocol error). Only call it between messages.
func consumeControl(br *bufio.Reader, onPong func() error, onPing func(payload []byte) error) error {
	for {
		n := br.Buffered()
		if n < 6 { // 2 header bytes + 4 mask bytes: the smallest client frame
			return nil
		}
		p, _ := br.Peek(n) // n bytes are buffered: Peek cannot fail
		op := p[0] & 0x0f
		length := int(p[1] & 0x7f)
		// FIN set, no RSV bits, masked (a client must mask), payload
		// within the control frame limit.
		if p[0]&0xf0 != 0x80 || p[1]&0x80 == 0 || length > 125 ||
			(op != websocket.PingMessage && op != websocket.PongMessage) {
			return nil
		}
		size := 6 + length
		if n < size {
			return nil
		}
		var err error
		if op == websocket.PongMessage {
			err = onPong()
		} else {
			payload := make([]byte, length)
			key := p[2:6]
			for i := range payload {
				payload[i] = p[6+i] ^ key[i&3]
			}
			err = onPing(payload)
		}
		if err != nil {
			return err
		}
		_, _ = br.Discard(size) // buffered: cannot fail
	}
}

// answerPing replies to a ping as gorilla's default handler does.
func answerPing(conn *websocket.Conn, writeTimeout time.Duration) func([]byte) error {
	return func(payload []byte) error {
		err := conn.WriteControl(websocket.PongMessage, payload, time.Now().Add(writeTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	}
}
