package chaos

import (
	"context"
	"net"
	"sync"

	"golang.org/x/time/rate"
)

// FaultProxy is a TCP forwarder to one target that can stall, cut and
// throttle traffic: between the relays and Redis it stands in for a
// network partition (Pause: bytes stop flowing but connections stay open,
// so only timeouts notice), a reset (Cut) or a congested link; between a
// client and a relay it is a slow mobile path (SetRate).
type FaultProxy struct {
	// Addr is the proxy's host:port.
	Addr string

	target string
	ln     net.Listener
	mu     sync.Mutex
	open   chan struct{} // closed while traffic flows; replaced by Pause
	lim    *rate.Limiter // nil: unlimited
	pairs  map[*pair]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewFaultProxy listens on a free 127.0.0.1 port and forwards to target.
// Call Close when done.
func NewFaultProxy(target string) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &FaultProxy{Addr: ln.Addr().String(), target: target, ln: ln, open: open, pairs: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Pause stops forwarding in both directions and holds new connections
// undialled; connections stay open. Resume lets everything flow again.
func (p *FaultProxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already paused
	}
}

// Resume ends a Pause.
func (p *FaultProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// SetRate throttles each direction of every connection to bytesPerSec
// (shared by all connections); 0 removes the limit.
func (p *FaultProxy) SetRate(bytesPerSec int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytesPerSec <= 0 {
		p.lim = nil
		return
	}
	p.lim = rate.NewLimiter(rate.Limit(bytesPerSec), max(bytesPerSec/10, 512))
}

// SetTarget sends new connections to target (an endpoint whose DNS name
// moved to a promoted replica); existing ones stay until Cut.
func (p *FaultProxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Cut closes every open connection (both sides), as a reset would.
func (p *FaultProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.close()
	}
}

// Close stops accepting, cuts every connection and waits for the
// forwarding goroutines.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.Resume()
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// gate returns the channel to wait on before forwarding (closed while not
// paused) and the limiter to charge.
func (p *FaultProxy) gate() (<-chan struct{}, *rate.Limiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, p.lim
}

func (p *FaultProxy) accept() {
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

func (p *FaultProxy) forward(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	pr := &pair{a: client, cancel: cancel}
	if !p.track(pr) {
		return
	}
	defer p.untrack(pr)
	// A paused link does not even reach the target: the dial waits for
	// Resume (or a Cut).
	open, _ := p.gate()
	select {
	case <-open:
	case <-ctx.Done():
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	upstream, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		return
	}
	p.mu.Lock()
	pr.b = upstream
	p.mu.Unlock()
	if ctx.Err() != nil { // cut while dialling
		return
	}
	pipePair(ctx, client, upstream, p.gate)
}

// pair is one proxied connection: both sides and the cancel that stops
// its copy loops even while they wait for a Resume.
type pair struct {
	a, b   net.Conn
	cancel context.CancelFunc
}

func (pr *pair) close() {
	pr.cancel()
	pr.a.Close()
	if pr.b != nil {
		pr.b.Close()
	}
}

func (p *FaultProxy) track(pr *pair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pr.close()
		return false
	}
	p.pairs[pr] = struct{}{}
	return true
}

func (p *FaultProxy) untrack(pr *pair) {
	p.mu.Lock()
	delete(p.pairs, pr)
	pr.close()
	p.mu.Unlock()
}

// pipePair copies both ways between a and b until either side ends or ctx
// is cancelled, then closes both. gate, when not nil, is consulted before
// every write: it returns a channel to wait on (pause) and a limiter to
// charge (throttle).
func pipePair(ctx context.Context, a, b net.Conn, gate func() (<-chan struct{}, *rate.Limiter)) {
	done := make(chan struct{}, 2)
	go func() { copyGated(ctx, b, a, gate); done <- struct{}{} }()
	go func() { copyGated(ctx, a, b, gate); done <- struct{}{} }()
	pending := 2
	select {
	case <-done:
		pending--
	case <-ctx.Done():
	}
	// One direction ended: the pair ends, which both peers see as a reset
	// or EOF (a proxy cannot half-close reliably through a pause).
	a.Close()
	b.Close()
	for ; pending > 0; pending-- {
		<-done
	}
}

// copyGated copies src to dst, waiting for the gate to open and for the
// rate limit before each write.
func copyGated(ctx context.Context, dst, src net.Conn, gate func() (<-chan struct{}, *rate.Limiter)) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			step, ok := admit(ctx, gate, len(chunk))
			if !ok {
				return
			}
			if _, werr := dst.Write(chunk[:step]); werr != nil {
				return
			}
			chunk = chunk[step:]
		}
		if err != nil {
			return
		}
	}
}

// admit waits until up to n bytes may pass: the gate is open and the
// limiter has tokens. It returns how many, or false when ctx ended.
func admit(ctx context.Context, gate func() (<-chan struct{}, *rate.Limiter), n int) (int, bool) {
	if gate == nil {
		return n, ctx.Err() == nil
	}
	for {
		open, lim := gate()
		select {
		case <-open:
		case <-ctx.Done():
			return 0, false
		}
		step := n
		if lim != nil {
			step = min(step, lim.Burst())
			if lim.WaitN(ctx, step) != nil {
				return 0, false
			}
		}
		// A Pause during the rate wait holds the bytes too.
		if open, _ = gate(); isOpen(open) {
			return step, true
		}
	}
}

func isOpen(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
