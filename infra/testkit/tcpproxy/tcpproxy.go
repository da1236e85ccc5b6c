// Package tcpproxy is a loopback TCP forwarder for tests that need the
// network between two real processes to misbehave: a load balancer whose
// target moves (SetTarget), an endpoint whose DNS name moves to a promoted
// replica (SetTarget then CloseConns), a reset (CloseConns), a link that
// stops delivering while connections stay open (Pause, Resume) or a slow,
// congested one (SetRate). The Redis bus tests, relaytest and the chaos
// suite (relay/internal/chaos, as FaultProxy) all use it.
package tcpproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// dialTimeout bounds connecting to the target: a dead one (a crashed
// process) must not hold a client's connection for the system's timeout.
const dialTimeout = 2 * time.Second

// Proxy forwards every connection made to Addr to the target current when
// it is dialled.
type Proxy struct {
	// URL is http://Addr; Addr the proxy's host:port.
	URL, Addr string

	ln     net.Listener
	mu     sync.Mutex
	target string
	gate   chan struct{} // closed while traffic flows; replaced by Pause
	lim    *rate.Limiter // nil: unlimited
	pairs  map[*pair]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New listens on a free 127.0.0.1 port and forwards to target (host:port).
// It is closed at test cleanup.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Start is New for callers without a test at hand (a harness that owns
// the proxy's lifetime): call Close when done.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, target: target, gate: make(chan struct{}), pairs: make(map[*pair]struct{})}
	close(p.gate)
	p.URL = "http://" + p.Addr
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// SetTarget sends new connections to addr; open ones stay where they are.
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// SetRate throttles each direction of every connection to bytesPerSec
// (one budget shared by all of them); 0 removes the limit.
func (p *Proxy) SetRate(bytesPerSec int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytesPerSec <= 0 {
		p.lim = nil
		return
	}
	p.lim = rate.NewLimiter(rate.Limit(bytesPerSec), max(bytesPerSec/10, 512))
}

// CloseConns cuts every open connection (both sides), as a network
// failure: bytes held back by Pause are dropped, and connections accepted
// during a Pause end without reaching the target.
func (p *Proxy) CloseConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.close()
	}
}

// Pause holds every byte back, in both directions, until Resume, and
// holds new connections undialled; connections stay open, so only
// timeouts notice.
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
// forwarding goroutines. Calling it again does nothing.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close() // ends accept
	// Cutting cancels every wait at the gate or the limiter, so bytes held
	// by a Pause are dropped, not let through.
	p.CloseConns()
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
		p.wg.Add(1)
		go p.forward(c)
	}
}

// pair is one proxied connection: both sides, and the cancel that ends
// its waits at the gate and the limiter.
type pair struct {
	client, upstream net.Conn
	cancel           context.CancelFunc
}

func (pr *pair) close() {
	pr.cancel()
	_ = pr.client.Close() // cutting is the point; a close error changes nothing
	if pr.upstream != nil {
		_ = pr.upstream.Close()
	}
}

func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	pr := &pair{client: client, cancel: cancel}
	if !p.track(pr) {
		return
	}
	defer p.untrack(pr)
	// A paused link does not even reach the target: the dial waits for
	// Resume (or a cut).
	if _, ok := p.admit(ctx, 0); !ok {
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	upstream, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		return // the target is down: the client sees a closed connection
	}
	if !p.attach(ctx, pr, upstream) {
		return
	}
	done := make(chan struct{}, 2)
	go p.pipe(ctx, upstream, client, done)
	go p.pipe(ctx, client, upstream, done)
	<-done
	<-done
}

// pipe forwards src to dst, admitted chunk by chunk (pause, rate). On EOF
// it passes the half-close on; on any other end both sides are closed by
// untrack, which is all a proxy can do.
func (p *Proxy) pipe(ctx context.Context, dst, src net.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			step, ok := p.admit(ctx, len(chunk))
			if !ok {
				return
			}
			if _, werr := dst.Write(chunk[:step]); werr != nil {
				return
			}
			chunk = chunk[step:]
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

// admit waits until up to n bytes may pass (n = 0: until the link is not
// paused): the gate is open and the limiter has tokens. It returns how
// many, or false when ctx ended (the connection was cut).
func (p *Proxy) admit(ctx context.Context, n int) (int, bool) {
	for {
		gate, lim := p.state()
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, false
		}
		step := n
		if lim != nil && n > 0 {
			step = min(step, lim.Burst())
			if lim.WaitN(ctx, step) != nil {
				return 0, false
			}
		}
		// A Pause during the rate wait holds the bytes too.
		if gate, _ = p.state(); isClosed(gate) {
			return step, true
		}
	}
}

func (p *Proxy) state() (chan struct{}, *rate.Limiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate, p.lim
}

// track registers pr; false (and pr closed) when the proxy is closing.
func (p *Proxy) track(pr *pair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pr.close()
		return false
	}
	p.pairs[pr] = struct{}{}
	return true
}

// attach records pr's upstream; false (and upstream closed) when pr was
// cut while dialling.
func (p *Proxy) attach(ctx context.Context, pr *pair, upstream net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ctx.Err() != nil {
		_ = upstream.Close()
		return false
	}
	pr.upstream = upstream
	return true
}

func (p *Proxy) untrack(pr *pair) {
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
	pr.close()
}
