package redis

import (
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards loopback TCP connections to a target it can switch (an
// ElastiCache endpoint whose DNS name moves to the promoted replica), and
// can hold traffic back (a replication link that stopped delivering).
type tcpProxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	gate   chan struct{} // closed while traffic flows
	conns  map[net.Conn]struct{}
	closed bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, gate: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	close(p.gate)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// switchTo sends new connections to target and cuts the existing ones, as
// clients of a moved endpoint see it.
func (p *tcpProxy) switchTo(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
	p.cut()
}

// pause holds every byte back (in both directions) until resume.
func (p *tcpProxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if isClosed(p.gate) {
		p.gate = make(chan struct{})
	}
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !isClosed(p.gate) {
		close(p.gate)
	}
}

// cut closes every forwarded connection; held-back bytes are dropped.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close() // cutting is the point; a close error changes nothing
	}
	clear(p.conns)
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close() // ends accept
	p.resume()
	p.cut()
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close() // the target is down: the client sees a closed connection
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_, _ = c.Close(), s.Close() // shutting down
			return
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.copy(s, c)
		go p.copy(c, s)
	}
}

// copy forwards src to dst, waiting at the gate before each write.
func (p *tcpProxy) copy(dst, src net.Conn) {
	defer func() { _, _ = dst.Close(), src.Close() }() // one side ended: end both
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
			return // EOF or a cut: either way this direction is done
		}
	}
}
