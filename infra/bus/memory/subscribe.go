package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// subscription is one Subscribe call's registration on its topics.
type subscription struct {
	b      *Bus
	h      bus.Handler
	topics []*topic // registered topics; fixed once Subscribe returns
	once   sync.Once
}

// Subscribe implements bus.Bus. Each topic is handled under its lock:
// replay after from's position (Truncated first if the retained history does
// not continue from it), then registration, so the next publish on the topic
// is the next delivery. A topic listed twice is subscribed once.
func (b *Bus) Subscribe(ctx context.Context, topics []string, from event.Cursor, h bus.Handler) (bus.Subscription, error) {
	if err := b.enter(ctx); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribe: %w: nil handler", bus.ErrInvalid)
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("subscribe: %w: no topics", bus.ErrInvalid)
	}
	seen := make(map[string]bool, len(topics))
	for _, name := range topics {
		if err := event.ValidateTopic(name); err != nil {
			return nil, fmt.Errorf("subscribe: %w: %w", bus.ErrInvalid, err)
		}
		seen[name] = false
	}
	s := &subscription{b: b, h: h, topics: make([]*topic, 0, len(seen))}
	for _, name := range topics {
		if seen[name] {
			continue
		}
		seen[name] = true
		t := b.lockTopic(name, true)
		if b.closed.Load() {
			b.unlockTopic(t)
			s.Close()
			return nil, fmt.Errorf("subscribe: %w", bus.ErrClosed)
		}
		e := subEntry{s: s}
		if pos, ok := from.Get(name); ok {
			e.pos = pos
			e.check = !replay(t, pos, h)
		}
		t.subs = append(t.subs, e)
		s.topics = append(s.topics, t)
		t.mu.Unlock()
	}
	return s, nil
}

// replay delivers t's retained events after pos and reports whether there
// were any. t.mu is held.
func replay(t *topic, pos event.ID, h bus.Handler) bool {
	r := &t.history
	i := r.after(pos)
	if i == r.len() {
		return false
	}
	if r.at(i).prev != pos {
		h.Truncated(t.name)
	}
	for ; i < r.len(); i++ {
		e := r.at(i)
		h.Deliver(bus.Delivery{Topic: t.name, ID: e.id, JSON: e.json})
	}
	return true
}

// Close unregisters from every topic. Taking each topic's lock waits out a
// handler call in progress there, so once Close returns none is running or
// will start. Calling Close from inside a Handler deadlocks.
func (s *subscription) Close() {
	s.once.Do(func() {
		for _, t := range s.topics {
			t.mu.Lock()
			t.removeSub(s)
			s.b.unlockTopic(t)
		}
	})
}
