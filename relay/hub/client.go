package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay/infra/event"
)

// Sink is a transport's side of a connection. The hub calls Write, Flush
// and Close from at most one goroutine at a time (the client's writer), so
// a Sink never needs its own lock for writing.
type Sink interface {
	// Write writes items in one frame or one flush. For each KindEvent
	// item it calls c.Advance before encoding so that c.AppendCursor
	// reflects the position after that event. items is recycled once
	// Write returns: do not keep it. Unless Stalled reports true, Write
	// must not wait for the peer: what the socket cannot take at once
	// stays in the sink (and Stalled turns true) until Flush.
	Write(c *Client, items []Item) error
	// Stalled reports whether writing now could wait for the peer: an
	// earlier Write left bytes behind, or the connection cannot be
	// written without waiting. The hub then writes the client on a
	// goroutine of its own instead of its shared writers. It must not
	// block: it is called with the client's lock held.
	Stalled() bool
	// Flush writes what earlier Writes left behind, waiting up to the
	// write timeout; an error closes the connection.
	Flush() error
	// Close ends the connection, first telling the peer why when r has a
	// code (WS close frame; SSE close event, preceded by `retry:` for a
	// drain).
	Close(c *Client, r Reason)
}

// Client is one admitted connection: its queue, subscriptions and cursor.
type Client struct {
	h         *Hub
	sink      Sink
	shard     *shard // the shared writer that writes it while not stalled
	transport string
	beat      atomic.Int64 // heartbeat interval in ns, 0 = none
	// pingEvery: beats are due every interval even while events flow
	// (WS pings drive the peer's pongs, which keep the read deadline).
	pingEvery atomic.Bool
	lastBeat  atomic.Int64

	// expires is the token expiry in Unix ns (0 = never); lastWrite the
	// writer's last write, for heartbeats. Both are read by the sweeper
	// without taking mu.
	expires   atomic.Int64
	lastWrite atomic.Int64 // at the sweeper's resolution (Hub.now)

	mu      sync.Mutex
	q       *[]Item // nil while idle; boxed so it recycles without allocating
	live    int     // items in q that count against QueueSize
	writing bool
	// direct: the sink could be written without waiting after its last
	// write, so a new burst goes to the shard without asking the sink
	// (whose state then stays in the shard's core's cache).
	direct   bool
	closing  bool
	finished bool
	reason   Reason
	retry    time.Duration
	cursor   event.Cursor
	subs     []*subscription
	ntopics  int
	drained  chan struct{} // closed by the writer after a batch, for replay backpressure

	done chan struct{}
}

func newClient(h *Hub, transport string, sink Sink) *Client {
	c := &Client{h: h, sink: sink, shard: h.w.pick(), transport: transport, done: make(chan struct{})}
	now := time.Now().UnixNano()
	c.lastWrite.Store(now)
	c.lastBeat.Store(now)
	return c
}

// Hub returns the client's hub.
func (c *Client) Hub() *Hub { return c.h }

// Done is closed when the connection has been closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// WriteTimeout is the hub's per-write deadline, for sinks.
func (c *Client) WriteTimeout() time.Duration { return c.h.o.WriteTimeout }

// Retry is the reconnect hint of a drain close.
func (c *Client) Retry() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.retry
}

// SetHeartbeat makes the shared ticker queue a KindBeat item whenever
// nothing was written for d (SSE comments: keep idle proxies from closing).
// Call it once, right after Admit.
func (c *Client) SetHeartbeat(d time.Duration) {
	if d <= 0 {
		return
	}
	c.beat.Store(int64(d))
	c.h.wantPeriod(d)
}

// SetPing makes the shared ticker queue a KindBeat item every d, busy or
// not (WebSocket pings: the peer's pongs prove it is alive). Call it once,
// right after Admit.
func (c *Client) SetPing(d time.Duration) {
	c.pingEvery.Store(true)
	c.SetHeartbeat(d)
}

// SetExpiry closes the connection with ReasonTokenExpired at t (zero: never).
func (c *Client) SetExpiry(t time.Time) {
	if t.IsZero() {
		c.expires.Store(0)
		return
	}
	c.expires.Store(t.UnixNano())
}

// Close closes the connection because the peer went away or the transport
// failed: no close frame is written.
func (c *Client) Close() { c.kick(ReasonNone, 0) }

// Kick closes the connection telling the peer r.
func (c *Client) Kick(r Reason) { c.kick(r, 0) }

// Send queues a transport control frame (acks, errors) already encoded. It
// counts against QueueSize, so a peer that sends requests but does not
// read answers is kicked like any slow consumer.
func (c *Client) Send(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(Item{Kind: KindFrame, JSON: frame}, true)
}

func (c *Client) heartbeat(nowNS int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pingEvery.Load() || c.queued() == 0 && !c.writing {
		c.lastBeat.Store(nowNS)
		c.enqueueLocked(Item{Kind: KindBeat}, false)
	}
}

// enqueueLocked appends it and wakes the writer. counted items beyond
// QueueSize kick the client as a slow consumer; replay items do not count
// (replay is paced by backpressure instead).
func (c *Client) enqueueLocked(it Item, counted bool) {
	if c.closing {
		return
	}
	if counted {
		if c.live >= c.h.o.QueueSize {
			c.kickLocked(ReasonSlowConsumer, 0)
			return
		}
		c.live++
	}
	if c.q == nil {
		c.q = c.h.getItems()
	}
	*c.q = append(*c.q, it)
	c.startWriterLocked()
}

func (c *Client) queued() int {
	if c.q == nil {
		return 0
	}
	return len(*c.q)
}

func (c *Client) startWriterLocked() {
	if c.writing {
		return
	}
	c.writing = true
	// A sink that stalled since (a WebSocket pong filled the socket) only
	// adds the shard's write to its backlog, and that write sends it to
	// ownWriter.
	if !c.direct && c.sink.Stalled() {
		go c.ownWriter()
	} else {
		c.shard.push(c)
	}
}

func (c *Client) kick(r Reason, retry time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kickLocked(r, retry)
}

// kickLocked drops what is queued (the client resumes from its cursor, so
// nothing is lost) and lets the writer write the close and finish.
func (c *Client) kickLocked(r Reason, retry time.Duration) {
	if c.closing {
		return
	}
	c.closing = true
	c.reason = r
	c.retry = retry
	c.q = nil
	c.live = 0
	if r != ReasonNone {
		c.h.m.kicks.WithLabelValues(r.Label()).Inc()
	}
	c.startWriterLocked()
}

// turn is what a writer should do with a client after writeOnce.
type turn uint8

const (
	turnIdle    turn = iota // nothing queued: the client has no writer now
	turnAgain               // a batch was written and more may be queued
	turnStalled             // the sink may wait for the peer: continue on ownWriter
	turnDone                // the connection is finished
)

// writeOnce takes everything queued and writes it in one go. Only the
// client's writer calls it: a shard (own false), which must never wait for
// the peer, or ownWriter. A sink that stalled since it was queued (a
// WebSocket pong filled the socket) only adds this batch to its backlog,
// and the stall sends it to ownWriter after the write.
func (c *Client) writeOnce(own bool) turn {
	c.mu.Lock()
	box := c.q
	c.q = nil
	var items []Item
	if box != nil {
		items = *box
	}
	c.live = 0
	closing, reason := c.closing, c.reason
	drained := c.drained
	c.drained = nil
	if len(items) == 0 && !closing {
		c.writing = false
	}
	c.mu.Unlock()
	if drained != nil {
		// Closed once this batch is out of the queue: replay only needs
		// to know the queue shrank.
		defer close(drained)
	}
	if closing { // kickLocked dropped the queue: nothing is left to write
		if !own && c.sink.Stalled() {
			return turnStalled // the close goes out after the backlog
		}
		c.finish(reason)
		return turnDone
	}
	if len(items) == 0 {
		return turnIdle
	}
	c.h.m.queueDepth.Observe(float64(len(items)))
	err := c.sink.Write(c, items)
	c.lastWrite.Store(c.h.now.Load())
	if err != nil {
		c.h.log.Debug("write failed, closing", "transport", c.transport, "err", err)
		c.finish(ReasonNone)
		return turnDone
	}
	c.h.putItems(box)
	stalled := c.sink.Stalled()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.direct = !stalled
	if stalled {
		// The socket did not take it all: the rest must not wait for
		// the next event (ownWriter flushes it first), and a shard must
		// not write this client again before then.
		return turnStalled
	}
	if c.q == nil && !c.closing {
		// Checked here rather than on the next turn: most writes are one
		// event to one client, and a second turn per delivery costs.
		c.writing = false
		return turnIdle
	}
	return turnAgain
}

// ownWriter writes c on a goroutine of its own while its sink is stalled
// (a slow peer, or a connection that cannot be written without waiting):
// it flushes what is left, writes what is queued, and ends once the queue
// is empty; the next event finds a shard again unless still stalled.
func (c *Client) ownWriter() {
	for {
		if err := c.sink.Flush(); err != nil {
			c.h.log.Debug("flush failed, closing", "transport", c.transport, "err", err)
			c.finish(ReasonNone) // drops what is queued too
			return
		}
		if t := c.writeOnce(true); t == turnIdle || t == turnDone {
			return
		}
	}
}

// finish runs once, on the writer goroutine.
func (c *Client) finish(r Reason) {
	c.mu.Lock()
	c.closing = true
	c.finished = true
	subs := c.subs
	c.subs = nil
	n := c.ntopics
	c.ntopics = 0
	c.q = nil
	c.mu.Unlock()
	c.sink.Close(c, r)
	for _, s := range subs {
		if s.sub != nil {
			s.sub.Close()
		}
	}
	c.h.m.subscriptions.Sub(float64(n))
	c.h.remove(c)
	close(c.done)
	// After done is closed, so that a join racing the close sees it.
	if f := c.h.o.OnClose; f != nil {
		f(c)
	}
}

// waitDrained blocks until the queue holds fewer than n items, the client
// closes, or done is closed. It paces history replay by the peer's speed.
func (c *Client) waitDrained(n int, done <-chan struct{}) bool {
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return false
		}
		if c.queued() < n {
			c.mu.Unlock()
			return true
		}
		if c.drained == nil {
			c.drained = make(chan struct{})
		}
		ch := c.drained
		c.mu.Unlock()
		select {
		case <-ch:
		case <-c.done:
			return false
		case <-done:
			return false
		}
	}
}
