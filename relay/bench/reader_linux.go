//go:build linux && (amd64 || arm64)

package bench

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// streamReader reads many SSE and WebSocket streams from one goroutine blocked in
// epoll_wait, instead of a goroutine per connection parked in the Go
// netpoller. Why: the load processes share the machine's two cores with
// the relay, and every event woke up to 1,000 goroutines per load process
// (netpoll, schedule, three bufio layers: about a quarter of the tool's
// CPU). What the tool does not burn the relay gets, for the relay and the
// reference server (--server floor) alike.
type streamReader struct {
	epfd    int
	mu      sync.Mutex // held while reading: remove waits until the fd is not in use
	streams map[int32]*stream
}

// stream is one connection read by a streamReader.
type stream struct {
	fd   int
	feed func(b []byte) error // decodes what a read returned
	done chan error           // the stream ended: EOF, a read error, a framing error
	// rxNS gets, before each feed, the kernel's receive time of the
	// newest segment the read returned (SO_TIMESTAMPNS; 0 if it had none).
	rxNS *int64
}

// readers returns the worker's stream readers, one per core, started on
// first use; nil when epoll is unavailable (the goroutine reader is used).
func (w *worker) streamReader(s *sub) *streamReader {
	w.readersOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			r, err := newStreamReader()
			if err != nil {
				w.readers = nil
				return
			}
			w.readers = append(w.readers, r)
		}
	})
	if len(w.readers) == 0 {
		return nil
	}
	return w.readers[int(s.idx)%len(w.readers)]
}

func newStreamReader() (*streamReader, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	r := &streamReader{epfd: fd, streams: make(map[int32]*stream)}
	go r.loop()
	return r, nil
}

// add has the loop read conn's stream: decoder makes the stream's decoder
// given the connection's file descriptor (a WebSocket answers pings on it),
// which first gets leftover, the bytes the handshake's reader already
// buffered. The caller must not read conn any more, and must call remove
// before closing it.
func (r *streamReader) add(conn net.Conn, leftover []byte, rxNS *int64, decoder func(fd int) func([]byte) error) (*stream, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("conn has no file descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("conn: %w", err)
	}
	st := &stream{fd: -1, done: make(chan error, 1), rxNS: rxNS}
	if err := raw.Control(func(fd uintptr) { st.fd = int(fd) }); err != nil {
		return nil, fmt.Errorf("conn fd: %w", err)
	}
	if err := syscall.SetsockoptInt(st.fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	st.feed = decoder(st.fd)
	*rxNS = 0 // a resumed stream: not the last connection's receive time
	if err := st.feed(leftover); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(st.fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, st.fd, &ev); err != nil {
		return nil, fmt.Errorf("epoll add: %w", err)
	}
	r.streams[int32(st.fd)] = st
	return st, nil
}

// remove stops reading st; once it returns the fd is never read again.
func (r *streamReader) remove(st *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[int32(st.fd)] == st {
		r.forgetLocked(st)
	}
}

// forgetLocked takes st out of the loop; the caller holds mu.
func (r *streamReader) forgetLocked(st *stream) {
	delete(r.streams, int32(st.fd))
	_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, st.fd, nil) // the fd is still open: cannot fail
}

func (r *streamReader) loop() {
	events := make([]syscall.EpollEvent, 256)
	buf := newRecvBuf(64 << 10)
	for {
		n, err := syscall.EpollWait(r.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // the epoll fd is never closed
		}
		r.mu.Lock()
		for i := range n {
			st := r.streams[events[i].Fd]
			if st == nil {
				continue // removed after epoll_wait returned
			}
			if err := st.read(buf); err != nil {
				r.forgetLocked(st)
				st.done <- err
			}
		}
		r.mu.Unlock()
	}
}

// read takes what the socket holds (one read: level-triggered epoll
// reports the fd again if more is left) and decodes it.
func (st *stream) read(rb *recvBuf) error {
	for {
		n, rx, err := rb.recv(st.fd)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return nil
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case n == 0:
			return errors.New("connection closed by the relay")
		}
		*st.rxNS = rx
		return st.feed(rb.buf[:n])
	}
}

// recvBuf is a loop's buffer for recvmsg(2): data and the control
// message that carries the receive timestamp.
type recvBuf struct {
	buf []byte
	oob [64]byte
	iov syscall.Iovec
	msg syscall.Msghdr
}

func newRecvBuf(size int) *recvBuf {
	rb := &recvBuf{buf: make([]byte, size)}
	rb.iov.Base = &rb.buf[0]
	rb.iov.SetLen(size)
	rb.msg.Iov = &rb.iov
	rb.msg.Iovlen = 1
	return rb
}

// recv is recvmsg(2) on a non-blocking socket without the scheduler's
// syscall bookkeeping (see relay/internal/nbconn's rawWrite for why: a P
// seen in a syscall by sysmon is handed off and won back). rx is the
// SCM_TIMESTAMPNS of the newest segment read, in Unix nanoseconds, or 0.
func (rb *recvBuf) recv(fd int) (n int, rx int64, err error) {
	rb.msg.Control = &rb.oob[0]
	rb.msg.SetControllen(len(rb.oob))
	r, _, errno := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&rb.msg)), 0)
	if errno != 0 {
		return -1, 0, errno
	}
	return int(r), rb.timestamp(), nil
}

// timestamp finds SCM_TIMESTAMPNS in the control data recvmsg returned.
func (rb *recvBuf) timestamp() int64 {
	oob := rb.oob[:rb.msg.Controllen]
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= syscall.SizeofCmsghdr+16 {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[syscall.SizeofCmsghdr]))
			return ts.Nano()
		}
		oob = oob[min(cmsgAlign(l), len(oob)):]
	}
	return 0
}

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// writeFD writes a few bytes (a pong) to a non-blocking socket the peer
// reads, from the loop; a full socket is an error rather than a wait.
func writeFD(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		p = p[n:]
	}
	return nil
}
