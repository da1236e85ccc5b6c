// Package nbconn wraps a subscriber's socket so that writes never wait for
// the peer.
//
// Why: the hub writes every connection of a node from one goroutine per
// core (relay/hub writers.go). A write that blocked there, on a peer whose
// socket buffer is full, would hold up every other connection of that
// core. So Write makes one non-blocking attempt and keeps whatever the
// socket did not take as a backlog, reporting success; Stalled then says
// so, and the hub moves that one connection to a goroutine of its own,
// which calls Flush: the only call that waits, bounded by the write
// timeout. Healthy peers never see a deadline being moved or a goroutine
// being woken per write.
package nbconn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// MaxBacklog bounds what writes made while a backlog exists may add to it.
// The hub flushes before it writes the next batch, so only small writes
// from elsewhere (a WebSocket's pongs and close frames) land there; a peer
// that makes us answer without reading is cut off at this size.
const MaxBacklog = 1 << 20

// ErrBacklogFull: writes kept arriving while the peer read nothing.
var ErrBacklogFull = errors.New("nbconn: write backlog full")

// Conn is a net.Conn whose Write never waits for the peer when the conn
// exposes its file descriptor (TCP, Unix). Other conns (TLS, pipes) write
// as usual with the write timeout as deadline, and Stalled always reports
// true so that their writers are never shared.
type Conn struct {
	net.Conn
	raw     syscall.RawConn // nil: writes wait like the wrapped conn's
	timeout time.Duration   // Flush's deadline, and each write's when raw is nil

	stalled atomic.Bool // backlog non-empty, or raw is nil

	mu      sync.Mutex
	backlog []byte // accepted but not yet written, in order
	err     error  // first write error; every later write fails with it

	// writeFn is c.writeRaw bound once: a func literal passed to
	// RawConn.Write escapes with what it captures, three allocations per
	// write. try passes its arguments and results in wp, wn and werr
	// (under mu).
	writeFn func(fd uintptr) bool
	wp      []byte
	wn      int
	werr    error
}

// New wraps c. timeout bounds Flush (and every write of a conn without a
// file descriptor).
func New(c net.Conn, timeout time.Duration) *Conn {
	n := &Conn{Conn: c, timeout: timeout}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			n.raw = raw
		}
	}
	n.stalled.Store(n.raw == nil)
	if n.raw != nil {
		n.writeFn = n.writeRaw
	}
	return n
}

// Stalled reports whether a write now could wait for the peer or would
// only add to the backlog: Flush first. It never blocks.
func (c *Conn) Stalled() bool { return c.stalled.Load() }

// Write hands p to the socket without waiting. What the socket cannot take
// at once is kept and written by Flush; Write still reports len(p). It
// fails only when the connection failed or the backlog is full.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.raw == nil {
		return c.writeWaiting(p)
	}
	if len(c.backlog) > 0 {
		if len(c.backlog)+len(p) > MaxBacklog {
			c.err = fmt.Errorf("write %d bytes behind %d unsent: %w", len(p), len(c.backlog), ErrBacklogFull)
			return 0, c.err
		}
		c.backlog = append(c.backlog, p...)
		return len(p), nil
	}
	n, err := c.try(p)
	if err != nil {
		c.err = err
		return n, err
	}
	if n < len(p) {
		c.backlog = append(c.backlog, p[n:]...)
		c.stalled.Store(true)
	}
	return len(p), nil
}

// try makes one non-blocking write of p and returns how much the socket
// took; a full socket is not an error. The caller holds mu.
func (c *Conn) try(p []byte) (int, error) {
	c.wp = p
	err := c.raw.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wp, c.werr = nil, nil
	if n < 0 {
		n = 0
	}
	if err == nil && werr != nil && werr != syscall.EAGAIN {
		err = werr
	}
	if err != nil {
		return n, fmt.Errorf("write socket: %w", err)
	}
	return n, nil
}

// writeRaw is the RawConn.Write callback of try.
func (c *Conn) writeRaw(fd uintptr) bool {
	for {
		c.wn, c.werr = rawWrite(fd, c.wp)
		if c.werr != syscall.EINTR {
			return true // never wait for writability: that is Flush's job
		}
	}
}

// writeWaiting is Write for a conn without a file descriptor.
func (c *Conn) writeWaiting(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.err = fmt.Errorf("set write deadline: %w", err)
		return 0, c.err
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = fmt.Errorf("write: %w", err)
	}
	return n, c.err
}

// Flush writes the backlog, waiting up to the write timeout for the peer
// to take it. Writes from other goroutines wait meanwhile.
func (c *Conn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || len(c.backlog) == 0 {
		return c.err
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.err = fmt.Errorf("set write deadline: %w", err)
		return c.err
	}
	if _, err := c.Conn.Write(c.backlog); err != nil {
		c.err = fmt.Errorf("flush %d bytes: %w", len(c.backlog), err)
		return c.err
	}
	// A deadline left set would fail the next non-blocking write once it
	// passed (the poller checks it before every write).
	if err := c.Conn.SetWriteDeadline(time.Time{}); err != nil {
		c.err = fmt.Errorf("clear write deadline: %w", err)
		return c.err
	}
	c.backlog = nil // a slow peer's buffer goes; the next stall makes a new one
	c.stalled.Store(false)
	return nil
}

// SetWriteDeadline is ignored when writes never wait (gorilla/websocket
// sets one before every frame; moving it re-arms a runtime timer for
// nothing); Flush sets its own.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.raw != nil {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the read deadline only, for the same reason.
func (c *Conn) SetDeadline(t time.Time) error {
	if c.raw != nil {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetDeadline(t)
}

// rawWrite is write(2) without the scheduler's syscall bookkeeping. Why:
// syscall.Write tells the runtime the goroutine may block, and a P left
// in a syscall for more than one sysmon tick (20 µs; the kernel preempts
// us often on a busy machine) is taken away and handed to another thread,
// then won back on return: in a fan-out that kept sysmon waking every
// 20 µs and cost about 7% of relay CPU (perf). A write to a non-blocking
// socket returns at once with what the socket took, so it may run as a
// raw syscall, as the runtime's own non-blocking calls do.
func rawWrite(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}
