package hub

import (
	"runtime"
	"sync/atomic"
	"time"
)

// writerPool runs clients' write loops on a few long-lived goroutines.
//
// Why: a goroutine started per burst begins with a 2 KiB stack and grows it
// through the sink's write path every time; with one burst per client per
// event that was ~12% of fan-out CPU (newproc, morestack, copystack in the
// relay/sse fan-out profile). Pooled writers keep their grown stacks. They
// are per hub, not per connection: an idle connection still holds no
// goroutine.
//
// The risk of any shared writer is head-of-line blocking: a write to a peer
// whose socket buffer is full blocks up to the write timeout. So a
// watchdog checks every writerStall: when clients are queued and no pooled
// writer took or finished one since the last check, everything queued gets
// its own goroutine, as before the pool. Stuck peers delay others by at
// most ~2 writerStall (TestStuckPeersDoNotBlockOthers). Progress is a
// counter, not a clock: reading the clock per delivery was 2% of the
// relay's CPU.
type writerPool struct {
	q    chan *Client // clients whose write loop waits for a pooled writer
	quit chan struct{}
	// progress counts clients pooled writers took and finished.
	progress atomic.Uint64
}

const (
	writersPerCPU = 4
	runQueueLen   = 1 << 16 // a whole node's fan-out of one event; untouched pages cost no RSS
	writerStall   = 10 * time.Millisecond
)

func (p *writerPool) start() {
	p.q = make(chan *Client, runQueueLen)
	p.quit = make(chan struct{})
	for range writersPerCPU * runtime.GOMAXPROCS(0) {
		go p.loop()
	}
	go p.watchdog()
}

func (p *writerPool) watchdog() {
	t := time.NewTicker(writerStall)
	defer t.Stop()
	seen := p.progress.Load()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			now := p.progress.Load()
			if len(p.q) > 0 && now == seen {
				p.rescue()
			}
			seen = now
		}
	}
}

func (p *writerPool) loop() {
	for {
		select {
		case <-p.quit:
			return
		case c := <-p.q:
			p.progress.Add(1)
			c.writeLoop()
			p.progress.Add(1)
		}
	}
}

// run starts c's write loop; the caller holds c.mu and has set c.writing.
func (p *writerPool) run(c *Client) {
	select {
	case p.q <- c:
	default: // queue full: the pool is far behind, do not wait for it
		go c.writeLoop()
	}
}

// rescue gives every queued client its own goroutine. Each dequeued client
// has exactly one writer, whoever took it from the queue.
func (p *writerPool) rescue() {
	for {
		select {
		case c := <-p.q:
			go c.writeLoop()
		default:
			return
		}
	}
}

// close stops the pooled writers; only after every client finished (Close),
// so nothing can be queued any more.
func (p *writerPool) close() { close(p.quit) }
