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

	// sharded: a Redis Cluster, one SSUBSCRIBE connection per primary
	// (shard.go, sharded.go); cluster is then the cluster client.
	sharded bool
	cluster *goredis.ClusterClient

	// Owned by run.
	shards    map[string]*shard // by primary address; "" on a single Redis
	topics    map[string]*topic
	byChannel map[string]*topic
	// unrouted: topics whose primary could not be found; retried.
	unrouted map[*topic]struct{}
	gens     int    // connection generations handed out
	epochs   uint64 // shard epochs handed out
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
	shard         *shard // nil while unrouted
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
	// epoch: its shard's epoch when the topic was last settled.
	epoch uint64
	// lastEpoch: the epoch in which last was seen (live, or read from the
	// stream). Only then does "every publish after last reached us" hold:
	// after a reconnect, an event published while the old connection was
	// already deaf may be gone with a restarted Redis.
	lastEpoch uint64
}

func (t *topic) ready() bool { return t.confirmed && t.known && !t.dirty }

func (t *topic) refs() int { return len(t.subs) + len(t.pending) }

// shardEpoch is the topic's shard's epoch; 0 (never a shard's) if unrouted.
func (t *topic) shardEpoch() uint64 {
	if t.shard == nil {
		return 0
	}
	return t.shard.epoch
}

func newDispatcher(b *Bus) *dispatcher {
	d := &dispatcher{
		b:         b,
		log:       b.opt.Logger.With("component", "bus/redis"),
		wake:      make(chan struct{}, 1),
		in:        make(chan readItem, 1024),
		stopc:     make(chan struct{}),
		done:      make(chan struct{}),
		shards:    make(map[string]*shard),
		topics:    make(map[string]*topic),
		byChannel: make(map[string]*topic),
		unrouted:  make(map[*topic]struct{}),
	}
	if cc, ok := b.client.(*goredis.ClusterClient); ok && !b.opt.ClassicPubSub {
		d.sharded, d.cluster = true, cc
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
	if !d.sharded {
		s := d.newShard("")
		d.gens++
		s.conn = d.newConn(d.gens, d.b.client.Subscribe(context.Background()), "")
	}
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
			d.retryRoutes()
			d.retryDirty()
		case <-reauth.C:
			d.log.Info("replacing pub/sub connections to re-authenticate")
			for _, s := range d.shardList() {
				d.replaceConn(s)
			}
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
	for _, s := range d.shards {
		d.dropShardConn(s)
	}
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
func (d *dispatcher) confirmed(s *shard, channel string) {
	if s.unsubPending[channel] > 0 {
		return // belongs to a SUBSCRIBE issued before a pending UNSUBSCRIBE
	}
	t := d.byChannel[channel]
	if t == nil || t.shard != s {
		return
	}
	t.confirmed = true
	d.queueSettle(t)
}

// fill reads the stream after t.last and delivers what subscribers missed.
func (d *dispatcher) fill(t *topic) {
	for {
		ctx, cancel := d.ctx()
		es, more, err := d.b.readAfter(ctx, t.name, t.last, fillPage)
		cancel()
		if err != nil {
			t.dirty = true
			return
		}
		d.deliverFilled(t, es)
		if !more && len(es) < fillPage {
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
		t.lastEpoch = t.shardEpoch()
	}
}

// live handles one published event as it arrives on the channel.
func (d *dispatcher) live(t *topic, prev, id event.ID, js []byte) {
	if !t.known || id.Compare(t.last) <= 0 {
		return // not started yet (settle reads the stream), or already filled
	}
	e := entry{id: id, prev: prev, json: js}
	epoch := t.shardEpoch()
	if prev.IsZero() && prev != t.last && !t.dirty && t.epoch == epoch && t.lastEpoch == epoch {
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
		t.last, t.lastEpoch = id, epoch
		return
	}
	if t.dirty || prev != t.last {
		d.fill(t) // the stream holds this event too
		return
	}
	for sub := range t.subs {
		d.deliverEntry(t, sub, e)
	}
	t.last, t.lastEpoch = id, epoch
}

// retryDirty queues topics whose last read failed for another settle.
func (d *dispatcher) retryDirty() {
	for _, t := range d.topics {
		if t.dirty && t.confirmed {
			d.queueSettle(t)
		}
	}
}
