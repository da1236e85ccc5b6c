// Package tcpproxy is a loopback TCP forwarder for tests that need the
// network between two real processes to misbehave: a load balancer whose
// target moves (SetTarget), an endpoint whose DNS name moves to a promoted
// replica (SetTarget then CloseConns), a reset (CloseConns) or a link that
// stops delivering while connections stay open (Pause, Resume).
package tcpproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards every connection made to Addr to the target current when
// it was accepted.
type Proxy struct {
	// URL is http://Addr; Addr the proxy's host:port.
	URL, Addr string

	ln     net.Listener
	mu     sync.Mutex
	target string
	gate   chan struct{} // closed while traffic flows; replaced by Pause
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New listens on a free 127.0.0.1 port and forwards to target (host:port).
// It is closed at test cleanup.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, target: target, gate: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	close(p.gate)
	p.URL = "http://" + p.Addr
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// SetTarget sends new connections to addr; open ones stay where they are.
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// CloseConns cuts every open connection (both sides), as a network
// failure; bytes held back by Pause are dropped.
func (p *Proxy) CloseConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close() // cutting is the point; a close error changes nothing
	}
}

// Pause holds every byte back, in both directions, until Resume;
// connections stay open, so only timeouts notice.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if isClosed(p.gate) {
		p.gate = make(chan struct{})
	}
}

// Resume ends a Pause.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !isClosed(p.gate) {
		close(p.gate)
	}
}

// Close stops accepting, cuts every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() {
	_ = p.ln.Close() // ends accept
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	// Cut before Resume, so bytes held by a Pause are dropped, not let
	// through; a released copy then fails its write and ends.
	p.CloseConns()
	p.Resume()
	p.wg.Wait()
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		p.wg.Add(1)
		go p.forward(c, target)
	}
}

func (p *Proxy) forward(client net.Conn, target string) {
	defer p.wg.Done()
	upstream, err := net.Dial("tcp", target)
	if err != nil {
		_ = client.Close() // the target is down: the client sees a closed connection
		return
	}
	if !p.track(client, upstream) {
		return
	}
	defer p.untrack(client, upstream)
	done := make(chan struct{}, 2)
	go p.pipe(upstream, client, done)
	go p.pipe(client, upstream, done)
	<-done
	<-done
}

// pipe forwards src to dst, waiting at the gate before each write. On EOF
// it passes the half-close on; on any other end both sides are closed by
// untrack, which is all a proxy can do.
func (p *Proxy) pipe(dst, src net.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite() // half-close: pass the EOF on
				}
			}
			return
		}
	}
}

// track registers both sides; false (and both closed) when the proxy is
// closing.
func (p *Proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_, _ = a.Close(), b.Close()
		return false
	}
	p.conns[a], p.conns[b] = struct{}{}, struct{}{}
	return true
}

func (p *Proxy) untrack(a, b net.Conn) {
	p.mu.Lock()
	delete(p.conns, a)
	delete(p.conns, b)
	p.mu.Unlock()
	_, _ = a.Close(), b.Close()
}
