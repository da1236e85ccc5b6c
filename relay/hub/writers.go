package hub

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// writerPool writes clients on one long-lived goroutine per core (a
// shard); each client belongs to one shard, assigned round robin.
//
// Why: one event reaches every subscriber of a node at once, so waking a
// goroutine per client per event (or handing each client to a pool over a
// channel) was a scheduler round trip per delivery: goroutine wake-ups,
// Ps taken back from writers in syscalls, stacks grown anew. A shard
// instead takes every client that has something queued in one swap and
// writes them one after another. That is only safe because a shard never
// waits for a peer: sinks write without blocking (relay/internal/nbconn),
// and a client whose sink is Stalled, a slow peer or one that cannot be
// written without waiting, is written on a goroutine of its own until it
// has caught up. An idle connection still holds no goroutine.
type writerPool struct {
	shards []*shard
	next   atomic.Uint32
	quit   chan struct{}
	wg     sync.WaitGroup
}

// shard is one writer goroutine and the clients waiting for it.
type shard struct {
	mu       sync.Mutex
	ready    []*Client // clients with something to write, in arrival order
	sleeping bool      // the goroutine waits on wake
	wake     chan struct{}
}

func (p *writerPool) start() {
	p.quit = make(chan struct{})
	for range runtime.GOMAXPROCS(0) {
		s := &shard{wake: make(chan struct{}, 1)}
		p.shards = append(p.shards, s)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.loop(p.quit)
		}()
	}
}

// pick assigns a new client's shard.
func (p *writerPool) pick() *shard {
	return p.shards[int(p.next.Add(1))%len(p.shards)]
}

// push queues c for its shard's writer. Callers own c's writer (c.writing).
func (s *shard) push(c *Client) {
	s.mu.Lock()
	s.ready = append(s.ready, c)
	wake := s.sleeping
	s.sleeping = false
	s.mu.Unlock()
	if wake {
		s.wake <- struct{}{} // one token at most: only the push that saw sleeping sends
	}
}

func (s *shard) loop(quit <-chan struct{}) {
	var batch []*Client
	for {
		s.mu.Lock()
		batch, s.ready = s.ready, batch[:0]
		if len(batch) == 0 {
			s.sleeping = true
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-quit:
				return
			}
		}
		s.mu.Unlock()
		for i, c := range batch {
			batch[i] = nil // the slice is reused; do not keep clients alive
			switch c.writeOnce(false) {
			case turnAgain:
				// One batch per turn: a client that keeps receiving
				// (a replay) does not hold up the rest of the shard.
				s.push(c)
			case turnStalled:
				go c.ownWriter()
			}
		}
	}
}

// close stops the shards; only after every client finished (Close), so
// nothing can be pushed any more.
func (p *writerPool) close() {
	close(p.quit)
	p.wg.Wait()
}
