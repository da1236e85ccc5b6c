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
// whose socket buffer is full blocks up to the write timeout. So the queue
// only takes work while the pool makes progress: when a client has waited
// longer than writerStall with no pooled writer finishing anything, new
// work and everything queued get their own goroutines, as before the pool.
// A watchdog ticking every writerStall/2 does the same when nothing new is
// published, so stuck peers delay others by at most ~1.5 writerStall
// (TestStuckPeersDoNotBlockOthers).
type writerPool struct {
	q    chan *Client // clients whose write loop waits for a pooled writer
	quit chan struct{}
	// progress is when a pooled writer last took or finished a client
	// (Unix ns).
	progress atomic.Int64
}

const (
	writersPerCPU = 4
	runQueueLen   = 4096
	writerStall   = 10 * time.Millisecond
)

func (p *writerPool) start() {
	p.q = make(chan *Client, runQueueLen)
	p.quit = make(chan struct{})
	p.progress.Store(time.Now().UnixNano())
	for range writersPerCPU * runtime.GOMAXPROCS(0) {
		go p.loop()
	}
	go p.watchdog()
}

func (p *writerPool) watchdog() {
	t := time.NewTicker(writerStall / 2)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			if len(p.q) > 0 && p.stalled(now.UnixNano()) {
				p.rescue()
			}
		}
	}
}

func (p *writerPool) loop() {
	for {
		select {
		case <-p.quit:
			return
		case c := <-p.q:
			p.progress.Store(time.Now().UnixNano())
			c.writeLoop()
			p.progress.Store(time.Now().UnixNano())
		}
	}
}

// run starts c's write loop; the caller holds c.mu and has set c.writing.
func (p *writerPool) run(c *Client) {
	if len(p.q) > 0 && p.stalled(time.Now().UnixNano()) {
		p.rescue()
		go c.writeLoop()
		return
	}
	select {
	case p.q <- c:
	default: // queue full: the pool is far behind, do not wait for it
		go c.writeLoop()
	}
}

func (p *writerPool) stalled(nowNS int64) bool {
	return nowNS-p.progress.Load() > int64(writerStall)
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
