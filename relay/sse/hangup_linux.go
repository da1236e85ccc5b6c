package sse

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// hangups notices a hijacked stream's peer going away as it happens. A
// stream never reads after its request, so without this a closed tab is
// only found by the next heartbeat write (up to Heartbeat later), and its
// presence leave comes that late. Every stream's socket sits in one epoll
// set armed one-shot for readability: no goroutine or buffer per stream,
// only a map entry. A browser sends nothing after the request, so
// readability means EOF, a reset, or bytes we will never answer (a
// pipelined request): each closes the hub client, whose OnClose hooks
// (presence leave) run at once.
type hangups struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]hangupConn // by fd
}

type hangupConn struct {
	c   *hub.Client
	raw syscall.RawConn
}

// hangupSweep is how often entries of clients the hub closed are dropped
// (closing the fd already took it out of the epoll set).
const hangupSweep = time.Second

func newHangups() (*hangups, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	w := &hangups{epfd: fd, conns: make(map[int32]hangupConn)}
	go w.wait()
	go w.sweep()
	return w, nil
}

// watch arms conn's socket; c is closed when the peer hangs up. Without a
// file descriptor the stream is left to the heartbeat, as before.
func (w *hangups) watch(c *hub.Client, conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	w.arm(hangupConn{c: c, raw: raw})
}

// arm (re)arms hc one-shot. Level-triggered: a hang-up that happened
// before arming fires at once. Control holds the fd open, so its number
// cannot be reused by another connection meanwhile.
func (w *hangups) arm(hc hangupConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = hc.raw.Control(func(fd uintptr) { // an error: closed already
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
		err := syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if err == syscall.ENOENT { // first arm, or the fd number was reused
			err = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
		if err == nil {
			w.conns[int32(fd)] = hc
		}
	})
}

func (w *hangups) wait() {
	events := make([]syscall.EpollEvent, 128)
	var fired []hangupConn
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // the epoll fd is never closed; nothing else fails here
		}
		w.mu.Lock()
		for i := range n {
			fd := events[i].Fd
			if hc, ok := w.conns[fd]; ok {
				delete(w.conns, fd)
				fired = append(fired, hc)
			}
		}
		w.mu.Unlock()
		for i, hc := range fired {
			if hungUp(hc.raw) {
				hc.c.Close()
			} else {
				w.arm(hc) // woken for nothing (or for an older conn on this fd)
			}
			fired[i] = hangupConn{}
		}
		fired = fired[:0]
	}
}

// hungUp reads the socket without waiting: EOF, an error or bytes all end
// the stream; only "nothing yet" does not. The event may be stale (the fd
// now belongs to a newer stream), which is why the socket, not the event,
// decides.
func hungUp(raw syscall.RawConn) bool {
	var b [1]byte
	gone := true
	err := raw.Control(func(fd uintptr) {
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			gone = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
			return
		}
	})
	return err != nil || gone
}

func (w *hangups) sweep() {
	t := time.NewTicker(hangupSweep)
	defer t.Stop()
	for range t.C {
		w.mu.Lock()
		for fd, hc := range w.conns {
			select {
			case <-hc.c.Done():
				delete(w.conns, fd)
			default:
			}
		}
		w.mu.Unlock()
	}
}
