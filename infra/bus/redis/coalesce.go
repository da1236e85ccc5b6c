package redis

import (
	"context"
	"fmt"
	"sync"

	"github.com/hookrelay/hookrelay/infra/event"
)

// History reads after a position are coalesced per topic: at most one
// stream read per topic is in flight, and the calls that arrive meanwhile
// are served together by the next one, read from the smallest of their
// positions. In a reconnect storm (thousands of clients of a dead relay
// resuming the same topics from nearby cursors) this turns one XRANGE per
// client into one per topic per read round trip. A call that the shared
// read cannot answer completely (the read filled its page before reaching
// the call's own page) reads by itself.
//
// Reads of a topic's latest entries (History with no position: every new
// connection without a cursor resolves its start position this way) are
// coalesced the same way by a second coalescer with latest set. Without
// it a storm of new connections ran one read per connection, queued for
// the client's connection pool, and past the pool timeout each was
// refused as if Redis were down (bus_unavailable) although Redis was
// healthy (issue 19's connect storm). A call only joins a read that
// starts after it arrived, so its position is never older than the
// topic's last event at the time of the call.

type histCoalescer struct {
	b *Bus
	// latest: the calls read the newest entries (History with after "")
	// rather than the entries after a position.
	latest bool
	mu     sync.Mutex
	topics map[string][]*histWait // waiting calls of topics being read
}

// histWait is one History call waiting for a shared read.
type histWait struct {
	after event.ID
	limit int
	done  chan histResult // buffered: the reader never blocks on it
}

type histResult struct {
	es   []entry
	more bool
	err  error
}

// read returns up to limit entries of topic after the id after, like
// Bus.readAfter, sharing the Redis read with concurrent calls.
func (h *histCoalescer) read(ctx context.Context, topic string, after event.ID, limit int) ([]entry, bool, error) {
	// A context already done fails before joining a read: the select
	// below picks at random when the shared read has answered too.
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redis bus: history %s: %w", topic, err)
	}
	if h.latest {
		h.b.metrics.latestRequests.Add(1)
	} else {
		h.b.metrics.historyRequests.Add(1)
	}
	w := &histWait{after: after, limit: limit, done: make(chan histResult, 1)}
	h.mu.Lock()
	if h.topics == nil {
		h.topics = make(map[string][]*histWait)
	}
	waiting, busy := h.topics[topic]
	h.topics[topic] = append(waiting, w)
	h.mu.Unlock()
	if !busy {
		go h.serve(topic)
	}
	select {
	case r := <-w.done:
		return r.es, r.more, r.err
	case <-ctx.Done():
		return nil, false, fmt.Errorf("redis bus: history %s: %w", topic, ctx.Err())
	}
}

// serve reads for the waiting calls of topic, round after round, until
// none is left.
func (h *histCoalescer) serve(topic string) {
	for {
		h.mu.Lock()
		batch := h.topics[topic]
		if len(batch) == 0 {
			delete(h.topics, topic)
			h.mu.Unlock()
			return
		}
		h.topics[topic] = batch[:0:0] // still present: the topic is busy
		h.mu.Unlock()
		if h.latest {
			h.answerLatest(topic, batch)
		} else {
			h.answer(topic, batch)
		}
	}
}

// answerLatest reads topic's newest entries once for batch (as many as the
// largest limit asks) and gives each call the newest of them, newest
// first like an XREVRANGE.
func (h *histCoalescer) answerLatest(topic string, batch []*histWait) {
	count := 0
	for _, w := range batch {
		count = max(count, w.limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.b.opt.sharedReadTimeout())
	defer cancel()
	es, more, err := h.b.readPage(ctx, topic, "+", "-", count, true)
	h.b.metrics.latestReads.Add(1)
	for _, w := range batch {
		if err != nil {
			w.done <- histResult{err: err}
			continue
		}
		n := min(len(es), w.limit)
		w.done <- histResult{es: es[:n:n], more: more || len(es) > n}
	}
}

// answer reads once for batch and gives each call its entries.
func (h *histCoalescer) answer(topic string, batch []*histWait) {
	from, count := batch[0].after, batch[0].limit
	for _, w := range batch[1:] {
		if w.after.Compare(from) < 0 {
			from = w.after
		}
		count = max(count, w.limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.b.opt.sharedReadTimeout())
	defer cancel()
	es, more, err := h.b.readAfter(ctx, topic, from, count)
	h.b.metrics.historyReads.Add(1)
	full := len(es) == count || more
	for _, w := range batch {
		if err != nil {
			w.done <- histResult{err: err}
			continue
		}
		mine := entriesAfter(es, w.after)
		switch {
		case len(mine) >= w.limit || !full:
			w.done <- histResult{es: mine[:min(len(mine), w.limit)]}
			continue
		case more && len(mine) > 0:
			// The shared page stopped at the byte bound: this call's part
			// of it is within the bound too, with more after it.
			w.done <- histResult{es: mine, more: true}
			continue
		}
		// The shared page ended before this call's page did.
		own, ownMore, err := h.b.readAfter(ctx, topic, w.after, w.limit)
		h.b.metrics.historyReads.Add(1)
		w.done <- histResult{es: own, more: ownMore, err: err}
	}
}
