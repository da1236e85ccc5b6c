package ws

import (
	"sync"
	"syscall"
	"time"
)

// poller parks idle connections in one epoll set instead of a goroutine
// each: a goroutine costs its 2 KiB stack and 480 B descriptor per idle
// WebSocket, twice over once GC headroom is counted. A parked connection
// is armed one-shot for readability; when bytes arrive, a fresh goroutine
// reads them (session.resume) and parks it again. Nothing waits on the read
// deadline of a parked connection, so a sweep closes those whose pong wait
// passed, and forgets those the hub closed.
type poller struct {
	epfd   int
	mu     sync.Mutex
	parked map[int32]*session // by fd
}

// pollSweep is how often parked connections' read deadlines are checked.
const pollSweep = time.Second

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, parked: make(map[int32]*session)}
	go p.wait()
	go p.sweep()
	return p, nil
}

// park arms ss's socket; false means it could not (closed conn, no fd)
// and the caller waits for it itself.
func (p *poller) park(ss *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	// Control holds the fd open, so it cannot be closed and reused by
	// another connection while it is being armed.
	cerr := ss.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
		// Level-triggered: bytes that arrived before arming fire at once.
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if err == syscall.ENOENT { // first park, or the fd number was reused
			err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
		if err == nil {
			p.parked[int32(fd)] = ss
		}
	})
	return cerr == nil && err == nil
}

func (p *poller) wait() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // the epoll fd is never closed; nothing else fails here
		}
		p.mu.Lock()
		for i := range n {
			fd := events[i].Fd
			if ss := p.parked[fd]; ss != nil {
				delete(p.parked, fd)
				go ss.resume()
			}
		}
		p.mu.Unlock()
	}
}

func (p *poller) sweep() {
	t := time.NewTicker(pollSweep)
	defer t.Stop()
	var expired []*session
	for now := range t.C {
		ns := now.UnixNano()
		p.mu.Lock()
		for fd, ss := range p.parked {
			select {
			case <-ss.c.Done(): // closed by the hub; closing the fd disarmed it
				delete(p.parked, fd)
				continue
			default:
			}
			if ns > ss.readDeadline.Load() {
				delete(p.parked, fd)
				expired = append(expired, ss)
			}
		}
		p.mu.Unlock()
		for i, ss := range expired {
			ss.s.log.Debug("ws read ended", "err", "no frame within the pong wait")
			ss.c.Close()
			expired[i] = nil
		}
		expired = expired[:0]
	}
}
