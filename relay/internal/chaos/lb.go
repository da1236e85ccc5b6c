package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay/relay/api"
)

// LB timing: health checks every checkEvery (an ALB checks every 5-30 s;
// tests want it fast), a dial gives up on a target after dialTimeout.
const (
	checkEvery  = 100 * time.Millisecond
	checkWait   = 500 * time.Millisecond
	dialTimeout = time.Second
)

// LB is a TCP load balancer standing in for the ALB: each new connection
// goes round robin to the next healthy target (GET /readyz answered 200),
// and when no target is healthy it fails open to every registered target,
// as an ALB does. A target that refuses the connection (crashed) is
// skipped for the next candidate, so a client moved off a dead relay lands
// on a live one. Open connections stay where they are until the relay or
// CutAll ends them.
type LB struct {
	// URL is http://Addr; Addr the listener's host:port.
	URL, Addr string

	ln      net.Listener
	dialer  net.Dialer
	hc      *http.Client
	mu      sync.Mutex
	targets []*lbTarget
	next    int
	conns   map[net.Conn]struct{}
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type lbTarget struct {
	addr       string
	registered bool // false: deregistered, gets no new connections
	healthy    bool
}

// NewLB listens on a free 127.0.0.1 port and balances over targets
// (host:port of relays serving /readyz). Call Close when done.
func NewLB(targets ...string) (*LB, error) { return NewLBAt("127.0.0.1", "", targets...) }

// NewLBAt is NewLB listening on a free port of the loopback address
// listen and dialing the targets from the loopback address source ("":
// the kernel picks): a connect storm spreads its connections over several
// addresses so no one address runs out of ephemeral ports.
func NewLBAt(listen, source string, targets ...string) (*LB, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listen, "0"))
	if err != nil {
		return nil, err
	}
	l := &LB{
		Addr:   ln.Addr().String(),
		ln:     ln,
		dialer: net.Dialer{Timeout: dialTimeout},
		hc:     &http.Client{Timeout: checkWait},
		conns:  make(map[net.Conn]struct{}),
		stop:   make(chan struct{}),
	}
	if source != "" {
		l.dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	l.URL = "http://" + l.Addr
	for _, a := range targets {
		// Registered targets start healthy so the first clients do not
		// wait for a check round.
		l.targets = append(l.targets, &lbTarget{addr: a, registered: true, healthy: true})
	}
	l.wg.Add(2)
	go l.accept()
	go l.check()
	return l, nil
}

// Deregister stops sending new connections to addr (the first step of an
// ECS deployment); Register undoes it.
func (l *LB) Deregister(addr string) { l.setRegistered(addr, false) }

// Register sends new connections to addr again.
func (l *LB) Register(addr string) { l.setRegistered(addr, true) }

func (l *LB) setRegistered(addr string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.targets {
		if t.addr == addr {
			t.registered = on
		}
	}
}

// Healthy reports whether the last health check of addr passed.
func (l *LB) Healthy(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.targets {
		if t.addr == addr {
			return t.healthy
		}
	}
	return false
}

// CutAll closes every open connection (both sides), as a network failure.
func (l *LB) CutAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}

// Close stops accepting, cuts every connection and waits for the
// forwarding goroutines.
func (l *LB) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.stop)
	l.mu.Unlock()
	l.ln.Close()
	l.CutAll()
	l.wg.Wait()
}

// candidates lists registered targets to try, healthy ones first starting
// at the round-robin position; unhealthy ones after them (fail open).
func (l *LB) candidates() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.targets)
	var healthy, rest []string
	for i := range n {
		t := l.targets[(l.next+i)%n]
		switch {
		case !t.registered:
		case t.healthy:
			healthy = append(healthy, t.addr)
		default:
			rest = append(rest, t.addr)
		}
	}
	l.next++
	return append(healthy, rest...)
}

// accept hands each connection to forward. An Accept error other than
// the listener's close (running out of files under a storm, say) is
// retried after a growing pause, as net/http's server does, and reported:
// returning would leave every later client in the listen backlog.
func (l *LB) accept() {
	defer l.wg.Done()
	var pause time.Duration
	for {
		c, err := l.ln.Accept()
		if err == nil {
			pause = 0
			l.wg.Add(1)
			go l.forward(c)
			continue
		}
		select {
		case <-l.stop:
			return
		default:
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		pause = min(max(2*pause, 5*time.Millisecond), time.Second)
		fmt.Fprintf(os.Stderr, "chaos LB %s: accept: %v; retrying in %s\n", l.Addr, err, pause)
		select {
		case <-l.stop:
			return
		case <-time.After(pause):
		}
	}
}

func (l *LB) forward(client net.Conn) {
	defer l.wg.Done()
	var upstream net.Conn
	for _, addr := range l.candidates() {
		c, err := l.dialer.Dial("tcp", addr)
		if err == nil {
			upstream = c
			break
		}
	}
	if upstream == nil {
		client.Close()
		return
	}
	if !l.track(client, upstream) {
		return
	}
	defer l.untrack(client, upstream)
	splice(client, upstream)
}

// splice copies both ways until either side ends, then closes both: the
// other peer sees a reset or EOF, as behind an ALB.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { copyPlain(a, b); done <- struct{}{} }()
	go func() { copyPlain(b, a); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
}

// copyPlain copies src to dst through a small buffer of its own. A plain
// io.Copy between two TCP connections uses splice(2) on Linux, and every
// copy blocked in it holds a pipe (two more files): with both directions
// of every proxied connection idle in a read, that was 4 files per client
// on top of its 3 sockets, and a storm worker of 3,750 clients hit the
// 20,000-file limit (its balancer stopped accepting). The wrappers hide
// ReaderFrom/WriterTo so the buffer is used.
func copyPlain(dst io.Writer, src io.Reader) {
	buf := make([]byte, 8<<10)
	_, _ = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
}

func (l *LB) track(a, b net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		a.Close()
		b.Close()
		return false
	}
	l.conns[a], l.conns[b] = struct{}{}, struct{}{}
	return true
}

func (l *LB) untrack(a, b net.Conn) {
	l.mu.Lock()
	delete(l.conns, a)
	delete(l.conns, b)
	l.mu.Unlock()
	a.Close()
	b.Close()
}

// check polls every target's /readyz.
func (l *LB) check() {
	defer l.wg.Done()
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		addrs := make([]string, len(l.targets))
		for i, t := range l.targets {
			addrs[i] = t.addr
		}
		l.mu.Unlock()
		for _, a := range addrs {
			ok := l.ready(a)
			l.mu.Lock()
			for _, t := range l.targets {
				if t.addr == a {
					t.healthy = ok
				}
			}
			l.mu.Unlock()
		}
	}
}

func (l *LB) ready(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), checkWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+api.ReadyzPath, nil)
	if err != nil {
		return false
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
