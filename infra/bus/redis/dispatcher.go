package redis

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// The dispatcher is one goroutine that owns all subscription state of a Bus:
// the topics, their SUBSCRIBE state, each subscription's last delivered id,
// and the pub/sub connection. Everything that changes that state arrives as a
// message (control commands from callers, items from the pub/sub reader), so
// there is no lock around it, and per-topic order holds by construction.

// Control commands, queued by callers.
type (
	subscribeCmd struct{ req *subReq }
	cancelCmd    struct{ req *subReq }
	closeCmd     struct{ sub *subscription }
)

// retryEvery is how often topics whose stream read failed are retried.
const retryEvery = 500 * time.Millisecond

// fillPage is how many entries one XRANGE of a gap fill or replay reads.
const fillPage = 500

type dispatcher struct {
	b    *Bus
	log  *slog.Logger
	goid atomic.Uint64

	// The control queue is unbounded so that enqueue never blocks, not even
	// from inside a handler running on the dispatcher goroutine.
	mu    sync.Mutex
	queue []any
	wake  chan struct{}

	in    chan readItem
	stopc chan struct{}
	done  chan struct{}

	// Owned by run.
	conn         *conn
	topics       map[string]*topic
	byChannel    map[string]*topic
	unsubPending map[string]int
	healthy      bool
	// epoch counts pub/sub connection breaks and replacements: a topic
	// settled in the current epoch has seen every publish since t.last.
	epoch uint64
	// startable: Subscribe calls whose topics are all ready, started
	// together (one pipelined replay read) at the end of a loop turn.
	startable []*subReq
	// settling: topics confirmed (or to retry) this turn, read together
	// in one pipeline at the end of the turn.
	settling []*topic
}

// topic is the dispatcher's view of one subscribed topic.
type topic struct {
	name, channel string
	subs          map[*subscription]struct{}
	pending       map[*subReq]struct{}
	// confirmed: Redis acknowledged SUBSCRIBE on the current connection,
	// so every later publish reaches us live.
	confirmed bool
	// known: last is the id up to which the topic has been processed
	// without a gap (zero: the stream was empty).
	known bool
	last  event.ID
	// dirty: a stream read failed; the topic is re-read from last.
	dirty bool
	// queued: in the dispatcher's settling list.
	queued bool
	// epoch: the dispatcher's epoch when the topic was last settled.
	epoch uint64
	// lastEpoch: the epoch in which last was seen (live, or read from the
	// stream). Only then does "every publish after last reached us" hold:
	// after a reconnect, an event published while the old connection was
	// already deaf may be gone with a restarted Redis.
	lastEpoch uint64
}

func (t *topic) ready() bool { return t.confirmed && t.known && !t.dirty }

func (t *topic) refs() int { return len(t.subs) + len(t.pending) }

func newDispatcher(b *Bus) *dispatcher {
	d := &dispatcher{
		b:            b,
		log:          b.opt.Logger.With("component", "bus/redis"),
		wake:         make(chan struct{}, 1),
		in:           make(chan readItem, 1024),
		stopc:        make(chan struct{}),
		done:         make(chan struct{}),
		topics:       make(map[string]*topic),
		byChannel:    make(map[string]*topic),
		unsubPending: make(map[string]int),
		healthy:      true,
	}
	started := make(chan struct{})
	go d.run(started)
	<-started
	return d
}

func (d *dispatcher) enqueue(cmd any) {
	d.mu.Lock()
	d.queue = append(d.queue, cmd)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// stop ends the dispatcher and waits for it, except when called from a
// handler (Bus.Close inside Deliver): the dispatcher cannot wait for itself,
// and ends as soon as that handler returns.
func (d *dispatcher) stop() {
	close(d.stopc)
	if goroutineID() != d.goid.Load() {
		<-d.done
	}
}

func (d *dispatcher) run(started chan<- struct{}) {
	d.goid.Store(goroutineID())
	defer close(d.done)
	d.conn = d.newConn(0)
	close(started)
	reauth := time.NewTicker(d.b.opt.ReauthInterval)
	defer reauth.Stop()
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	for {
		select {
		case <-d.stopc:
			d.shutdown()
			return
		case <-d.wake:
			d.drainQueue()
		case it := <-d.in:
			d.handleRead(it)
			d.drainReads()
		case <-retry.C:
			d.retryDirty()
		case <-reauth.C:
			d.log.Info("replacing pub/sub connection to re-authenticate")
			d.replaceConn()
		}
		d.settleQueued()
		d.startReady()
	}
}

// readBurst bounds how many pub/sub items one dispatcher turn handles, so
// control commands are not starved under a flood of live events.
const readBurst = 256

// drainReads handles what the reader has already queued, so confirmations
// arriving together (a resubscribe, a subscribe storm) settle together.
func (d *dispatcher) drainReads() {
	for range readBurst {
		select {
		case it := <-d.in:
			d.handleRead(it)
		default:
			return
		}
	}
}

func (d *dispatcher) drainQueue() {
	d.mu.Lock()
	q := d.queue
	d.queue = nil
	d.mu.Unlock()
	for _, cmd := range q {
		switch c := cmd.(type) {
		case subscribeCmd:
			d.handleSubscribe(c.req)
		case cancelCmd:
			d.detachReq(c.req)
		case closeCmd:
			d.detachSub(c.sub)
		}
	}
}

// shutdown fails waiting Subscribe calls and closes the connection.
func (d *dispatcher) shutdown() {
	d.drainQueue()
	waiting := make(map[*subReq]bool)
	for _, t := range d.topics {
		for req := range t.pending {
			waiting[req] = true
		}
	}
	for req := range waiting { // once each: done has room for one answer
		req.done <- bus.ErrClosed
	}
	d.conn.close()
}

func (d *dispatcher) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.b.opt.ReadTimeout+d.b.opt.DialTimeout)
}

// deliverEntry hands e to sub unless sub already has it. An entry that does
// not name sub's last id as its predecessor means events in between are
// gone (trimmed, expired, Redis restarted empty): sub hears Truncated first.
func (d *dispatcher) deliverEntry(t *topic, sub *subscription, e entry) {
	last := sub.last[t.name]
	if e.id.Compare(last) <= 0 {
		return
	}
	if truncatedAfter(last, e) {
		d.b.metrics.truncations.Add(1)
		sub.truncated(t.name)
	}
	sub.deliver(e.delivery(t.name))
	sub.last[t.name] = e.id
}

// confirmed handles a SUBSCRIBE confirmation: from here on every publish on
// the topic arrives live, so reading the stream now closes any gap.
func (d *dispatcher) confirmed(channel string) {
	if d.unsubPending[channel] > 0 {
		return // belongs to a SUBSCRIBE issued before a pending UNSUBSCRIBE
	}
	t := d.byChannel[channel]
	if t == nil {
		return
	}
	t.confirmed = true
	d.queueSettle(t)
}

// fill reads the stream after t.last and delivers what subscribers missed.
func (d *dispatcher) fill(t *topic) {
	for {
		ctx, cancel := d.ctx()
		es, err := d.b.readAfter(ctx, t.name, t.last, fillPage)
		cancel()
		if err != nil {
			t.dirty = true
			return
		}
		d.deliverFilled(t, es)
		if len(es) < fillPage {
			t.dirty = false
			return
		}
	}
}

// deliverFilled hands entries read from the stream after t.last to every
// subscription of t and moves t.last.
func (d *dispatcher) deliverFilled(t *topic, es []entry) {
	for _, e := range es {
		for sub := range t.subs {
			d.deliverEntry(t, sub, e)
		}
	}
	if len(es) > 0 {
		t.last = es[len(es)-1].id
		t.lastEpoch = d.epoch
	}
}

// live handles one published event as it arrives on the channel.
func (d *dispatcher) live(t *topic, prev, id event.ID, js []byte) {
	if !t.known || id.Compare(t.last) <= 0 {
		return // not started yet (settle reads the stream), or already filled
	}
	e := entry{id: id, prev: prev, json: js}
	if prev.IsZero() && prev != t.last && !t.dirty && t.epoch == d.epoch && t.lastEpoch == d.epoch {
		// The stream was re-created (expired after HistoryTTL without a
		// publish, or deleted) while this connection saw every publish
		// since t.last (seen on this very connection): subscriptions that
		// were at t.last miss nothing, so they get no Truncated, as on the
		// memory bus. Others (resumed from a position the stream no longer
		// had) still do. If t.last was seen on an earlier connection, an
		// event published while that one was deaf may have died with a
		// restarted Redis: fill below signals Truncated instead of a
		// silent gap (TestChaosRedisRestartUnseenPublish).
		for sub := range t.subs {
			if sub.last[t.name] == t.last {
				sub.last[t.name] = prev
			}
			d.deliverEntry(t, sub, e)
		}
		t.last, t.lastEpoch = id, d.epoch
		return
	}
	if t.dirty || prev != t.last {
		d.fill(t) // the stream holds this event too
		return
	}
	for sub := range t.subs {
		d.deliverEntry(t, sub, e)
	}
	t.last, t.lastEpoch = id, d.epoch
}

// retryDirty queues topics whose last read failed for another settle.
func (d *dispatcher) retryDirty() {
	for _, t := range d.topics {
		if t.dirty && t.confirmed {
			d.queueSettle(t)
		}
	}
}

// connectionLost marks every topic unconfirmed: the reconnected pub/sub
// connection SUBSCRIBEs again, and each confirmation re-reads the stream.
func (d *dispatcher) connectionLost(err error) {
	if d.healthy {
		d.log.Warn("pub/sub connection lost; topics will be re-read after resubscribing", "err", err)
		d.b.metrics.resubscribes.Add(1)
	}
	d.healthy = false
	d.epoch++
	for _, t := range d.topics {
		t.confirmed = false
	}
	clear(d.unsubPending)
}

func (d *dispatcher) handleRead(it readItem) {
	if it.gen != d.conn.gen {
		return // from a replaced connection
	}
	switch {
	case it.stale:
		d.log.Warn("pub/sub connection silent past its ping deadline; replacing it")
		d.replaceConn()
	case it.err != nil:
		d.connectionLost(it.err)
	default:
		if !d.healthy {
			d.log.Info("pub/sub connection back")
			d.healthy = true
		}
		d.handleMessage(it.msg)
	}
}

func (d *dispatcher) handleMessage(msg any) {
	switch m := msg.(type) {
	case *goredis.Subscription:
		switch m.Kind {
		case "subscribe":
			d.confirmed(m.Channel)
		case "unsubscribe":
			if n := d.unsubPending[m.Channel]; n > 1 {
				d.unsubPending[m.Channel] = n - 1
			} else {
				delete(d.unsubPending, m.Channel)
			}
		}
	case *goredis.Message:
		t := d.byChannel[m.Channel]
		if t == nil {
			return
		}
		prev, id, js, err := parseLive(m.Payload)
		if err != nil {
			d.log.Error("malformed live message; re-reading the stream", "topic", t.name, "err", err)
			t.dirty = true
			return
		}
		d.live(t, prev, id, js)
	}
}

// replaceConn swaps the pub/sub connection for a new one (stale connection,
// or re-authentication) and SUBSCRIBEs every topic on it.
func (d *dispatcher) replaceConn() {
	old := d.conn
	d.conn = d.newConn(old.gen + 1)
	d.b.metrics.resubscribes.Add(1)
	d.epoch++
	for _, t := range d.topics {
		t.confirmed = false
	}
	clear(d.unsubPending)
	channels := make([]string, 0, len(d.topics))
	for _, t := range d.topics {
		channels = append(channels, t.channel)
	}
	d.conn.subscribe(channels...)
	old.close()
}
