// Package memory is the embedded, one-process Bus: `relay dev` and tests use
// it. It keeps the Redis bus's semantics (ms-seq ids, bounded history with
// truncation detection, idempotency keys, read cursors) in memory.
//
// Concurrency model. Each topic has one mutex. Publish assigns the id,
// appends to the topic's ring and calls every subscriber's Handler while
// holding it; Subscribe takes it, replays, registers and releases it. So a
// subscriber sees replay then live with no gap and no duplicate, without a
// goroutine or a buffer per subscription. The price: Handlers run on the
// publisher's goroutine with the topic locked, so they must not block and
// must not call back into the Bus (queue the delivery and return; close a
// Subscription from another goroutine). Topics are independent: handler
// calls for different topics may run concurrently. Replay runs inside
// Subscribe, so a handler may get up to HistoryLen events in one burst.
//
// Invariants and the tests that guard them: replay-then-live without gap or
// duplicate (bustest PublishWhileSubscribing, Resume); no handler call after
// Subscription.Close returns (TestCloseWaitsForHandler,
// TestCloseRacesPublish); Truncated before the first event after a lost
// position (bustest ResumeTruncated, ResumeLostHistory, TestHistoryTTL);
// memory of idle topics is given back (TestSweepForgetsUntouchedTopics,
// TestSubscribedTopicsReleased).
package memory

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

var _ bus.Bus = (*Bus)(nil)

// maxSweepInterval bounds how long an idle topic's memory outlives its TTL.
const maxSweepInterval = time.Minute

// Bus is the in-memory Bus. Use New.
type Bus struct {
	opts bus.Options
	now  func() time.Time // the clock; tests replace it

	mu     sync.RWMutex // guards topics (the map, not the topics)
	topics map[string]*topic

	closed    atomic.Bool
	lastSweep atomic.Int64 // unix nanos of the last full expiry sweep
}

// New returns an empty bus. Zero fields of opts take their defaults.
func New(opts bus.Options) *Bus {
	return &Bus{
		opts:   opts.WithDefaults(),
		now:    time.Now,
		topics: make(map[string]*topic),
	}
}

// Publish implements bus.Bus. All messages are validated and encoded before
// any is published, so an invalid message publishes nothing.
func (b *Bus) Publish(ctx context.Context, msgs []bus.Message) ([]bus.Published, error) {
	if err := b.enter(ctx); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	now := b.now()
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		body, err := bus.EncodeBody(m, now, b.opts.MaxEventBytes)
		if err != nil {
			return nil, fmt.Errorf("publish message %d: %w", i, err)
		}
		bodies[i] = body
	}
	out := make([]bus.Published, 0, len(msgs))
	for i, m := range msgs {
		p, err := b.publishOne(m, bodies[i], now)
		if err != nil {
			return out, fmt.Errorf("publish message %d to %s: %w", i, m.Topic, err)
		}
		out = append(out, p)
	}
	b.maybeSweep(now)
	return out, nil
}

func (b *Bus) publishOne(m bus.Message, body []byte, now time.Time) (bus.Published, error) {
	t := b.lockTopic(m.Topic, true)
	defer b.unlockTopic(t)
	if b.closed.Load() {
		return bus.Published{}, bus.ErrClosed
	}
	if m.IdempotencyKey != "" {
		// Checked on lookup too: a key with a shorter TTL than those queued
		// before it is swept late.
		if e, ok := t.dedup[m.IdempotencyKey]; ok && now.Before(e.expires) {
			return bus.Published{Event: e.pub.Event, Duplicate: true}, nil
		}
	}
	id := bus.NextID(t.last, uint64(max(now.UnixMilli(), 0)))
	full := bus.AttachID(body, id)
	tm := m.Time
	if tm.IsZero() {
		tm = now
	}
	p := bus.Published{Event: event.Event{
		ID: id.String(), Topic: m.Topic, Type: m.Type, Time: tm.UTC(), Source: m.Source,
		Data: bus.DataOf(full),
	}}
	prev := t.last
	t.history.push(stored{id: id, prev: prev, json: full})
	t.last = id
	t.lastPub = now
	if m.IdempotencyKey != "" {
		if t.dedup == nil {
			t.dedup = make(map[string]dedupEntry)
		}
		ttl := b.opts.DedupTTL
		if m.DedupTTL > 0 {
			ttl = m.DedupTTL
		}
		exp := now.Add(ttl)
		t.dedup[m.IdempotencyKey] = dedupEntry{pub: p, expires: exp}
		t.dedupQ = append(t.dedupQ, dedupRef{key: m.IdempotencyKey, expires: exp})
	}
	d := bus.Delivery{Topic: m.Topic, ID: id, JSON: full}
	for i := range t.subs {
		e := &t.subs[i]
		if e.check {
			e.check = false
			if prev != e.pos {
				e.s.h.Truncated(m.Topic)
			}
		}
		e.s.h.Deliver(d)
	}
	return p, nil
}

// History implements bus.Bus. limit <= 0 means all retained events.
func (b *Bus) History(ctx context.Context, topic string, after string, limit int) (bus.HistoryPage, error) {
	if err := b.enter(ctx); err != nil {
		return bus.HistoryPage{}, fmt.Errorf("history %s: %w", topic, err)
	}
	if err := event.ValidateTopic(topic); err != nil {
		return bus.HistoryPage{}, fmt.Errorf("history: %w: %w", bus.ErrInvalid, err)
	}
	var afterID event.ID
	if after != "" {
		id, err := event.ParseID(after)
		if err != nil {
			return bus.HistoryPage{}, fmt.Errorf("history %s: %w: %w", topic, bus.ErrInvalid, err)
		}
		afterID = id
	}
	if limit <= 0 {
		limit = b.opts.HistoryLen
	}
	var page bus.HistoryPage
	t := b.lockTopic(topic, false)
	if t == nil {
		return page, nil
	}
	defer b.unlockTopic(t)
	h := &t.history
	i := max(h.len()-limit, 0)
	if after != "" {
		i = h.after(afterID)
		page.Truncated = h.truncatedAfter(afterID)
	}
	end := min(h.len(), i+limit)
	// The byte bound keeps the newest events of a latest page and the
	// oldest of a forward one, as the Redis bus does.
	budget := b.opts.HistoryPageBytes
	if after == "" {
		i, page.More = fitBackward(h, i, end, budget)
	} else {
		end, page.More = fitForward(h, i, end, budget)
	}
	if end > i {
		page.Events = make([]bus.Delivery, 0, end-i)
	}
	for ; i < end; i++ {
		s := h.at(i)
		page.Events = append(page.Events, bus.Delivery{Topic: topic, ID: s.id, JSON: s.json})
	}
	return page, nil
}

// entryBytes is what an entry counts against the page byte bound.
func entryBytes(h *ring, i int) int { return len(h.at(i).json) }

// fitForward returns the end of the longest run from i that fits budget
// (at least one entry) and whether entries before end were left out.
func fitForward(h *ring, i, end, budget int) (int, bool) {
	used := 0
	for j := i; j < end; j++ {
		used += entryBytes(h, j)
		if j > i && used > budget {
			return j, true
		}
	}
	return end, false
}

// fitBackward returns the start of the longest run ending at end that fits
// budget (at least one entry) and whether entries after i were left out.
func fitBackward(h *ring, i, end, budget int) (int, bool) {
	used := 0
	for j := end - 1; j >= i; j-- {
		used += entryBytes(h, j)
		if j < end-1 && used > budget {
			return j + 1, true
		}
	}
	return i, false
}

// SetRead implements bus.Bus. A read cursor expires HistoryTTL after it was
// last set, like the history it points into.
func (b *Bus) SetRead(ctx context.Context, reader, topic, id string) error {
	if err := b.enter(ctx); err != nil {
		return fmt.Errorf("set read %s: %w", topic, err)
	}
	if err := checkRead(reader, topic); err != nil {
		return fmt.Errorf("set read: %w", err)
	}
	pos, err := event.ParseID(id)
	if err != nil {
		return fmt.Errorf("set read %s: %w: %w", topic, bus.ErrInvalid, err)
	}
	t := b.lockTopic(topic, true)
	defer b.unlockTopic(t)
	if t.reads == nil {
		t.reads = make(map[string]readEntry)
	}
	cur, ok := t.reads[reader]
	if !ok || pos.Compare(cur.id) > 0 {
		cur.id = pos
	}
	cur.expires = b.now().Add(b.opts.HistoryTTL)
	t.reads[reader] = cur
	return nil
}

// Unread implements bus.Bus. Only retained events are counted: a reader
// whose cursor is older than the history counts what is left.
func (b *Bus) Unread(ctx context.Context, reader, topic string) (bus.UnreadCount, error) {
	var u bus.UnreadCount
	if err := b.enter(ctx); err != nil {
		return u, fmt.Errorf("unread %s: %w", topic, err)
	}
	if err := checkRead(reader, topic); err != nil {
		return u, fmt.Errorf("unread: %w", err)
	}
	t := b.lockTopic(topic, false)
	if t == nil {
		return u, nil
	}
	defer b.unlockTopic(t)
	h := &t.history
	i := 0
	if r, ok := t.reads[reader]; ok {
		u.ReadID = r.id.String()
		i = h.after(r.id)
	}
	if n := h.len(); n > 0 {
		u.LastID = h.at(n - 1).id.String()
	}
	u.Count = h.len() - i
	if u.Count >= bus.MaxUnread {
		u.Count, u.Capped = bus.MaxUnread, true
	}
	return u, nil
}

func checkRead(reader, topic string) error {
	if reader == "" {
		return fmt.Errorf("%w: empty reader", bus.ErrInvalid)
	}
	if err := event.ValidateTopic(topic); err != nil {
		return fmt.Errorf("%w: %w", bus.ErrInvalid, err)
	}
	return nil
}

// Ready implements bus.Bus: a memory bus is ready until closed.
func (b *Bus) Ready(ctx context.Context) error {
	return b.enter(ctx)
}

// Close implements bus.Bus. It waits for handler calls in progress; later
// calls return ErrClosed.
func (b *Bus) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	for _, t := range b.snapshot() {
		t.mu.Lock()
		t.subs = nil
		t.mu.Unlock()
	}
	return nil
}

// SubscribedTopics returns the sorted names of topics with at least one
// subscription, so tests can check that closing subscriptions releases them.
func (b *Bus) SubscribedTopics() []string {
	var names []string
	for _, t := range b.snapshot() {
		t.mu.Lock()
		if len(t.subs) > 0 && !t.dead {
			names = append(names, t.name)
		}
		t.mu.Unlock()
	}
	sort.Strings(names)
	return names
}

func (b *Bus) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		return bus.ErrClosed
	}
	return nil
}

// lockTopic returns name's topic with its lock held and expired state
// dropped, creating it if create is set; nil if it does not exist and
// create is not set.
func (b *Bus) lockTopic(name string, create bool) *topic {
	for {
		b.mu.RLock()
		t := b.topics[name]
		b.mu.RUnlock()
		if t == nil {
			if !create {
				return nil
			}
			b.mu.Lock()
			if t = b.topics[name]; t == nil {
				t = &topic{name: name, history: ring{max: b.opts.HistoryLen}}
				b.topics[name] = t
			}
			b.mu.Unlock()
		}
		t.mu.Lock()
		if !t.dead {
			t.expire(b.now(), b.opts)
			return t
		}
		// Dropped between the lookup and the lock: look again.
		t.mu.Unlock()
	}
}

// unlockTopic releases t and forgets it if it holds nothing.
func (b *Bus) unlockTopic(t *topic) {
	idle := t.idle()
	t.mu.Unlock()
	if idle {
		b.drop(t)
	}
}

// drop removes t from the map if it is still idle. The map lock is taken
// before the topic lock; TryLock keeps drop from ever waiting on a topic
// lock while holding the map lock (a busy topic is not idle anyway).
func (b *Bus) drop(t *topic) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !t.mu.TryLock() {
		return
	}
	if !t.dead && t.idle() && b.topics[t.name] == t {
		t.dead = true
		delete(b.topics, t.name)
	}
	t.mu.Unlock()
}

func (b *Bus) snapshot() []*topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ts := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		ts = append(ts, t)
	}
	return ts
}

// maybeSweep expires every topic now and then, so topics nobody touches
// again still give their memory back (expiry is otherwise lazy, on access).
func (b *Bus) maybeSweep(now time.Time) {
	every := min(b.opts.HistoryTTL, b.opts.DedupTTL, maxSweepInterval)
	last := b.lastSweep.Load()
	if now.UnixNano()-last < int64(every) || !b.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	for _, t := range b.snapshot() {
		if !t.mu.TryLock() {
			continue // busy, so someone is expiring it anyway
		}
		if !t.dead {
			t.expire(now, b.opts)
		}
		b.unlockTopic(t)
	}
}
