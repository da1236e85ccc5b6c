package memory

import (
	"sync"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// topic is everything the bus knows about one topic. mu orders publishes,
// replays, registrations and removals of the topic's subscribers, and every
// handler call for the topic happens while it is held: that one lock is what
// makes replay-then-live gap-free and Subscription.Close final.
type topic struct {
	name string

	mu      sync.Mutex // guards everything below
	history ring
	last    event.ID  // last id assigned, even if trimmed since
	lastPub time.Time // for HistoryTTL
	subs    []subEntry
	dedup   map[string]dedupEntry
	dedupQ  []dedupRef // insertion order: expiry order, except shorter per-message TTLs (swept late, checked on lookup)
	reads   map[string]readEntry
	dead    bool // removed from the bus's map; look the topic up again
}

// subEntry is one subscription's registration on the topic. A subscription
// that resumed from a position but got nothing replayed checks the first
// live event's prev against that position: if they differ, events after the
// position were lost (history expired, or the cursor is from before a
// restart) and Truncated comes first, as it would have on replay.
type subEntry struct {
	s     *subscription
	check bool
	pos   event.ID
}

type dedupEntry struct {
	pub     bus.Published
	expires time.Time
}

type dedupRef struct {
	key     string
	expires time.Time
}

type readEntry struct {
	id      event.ID
	expires time.Time
}

// expire drops what has outlived its TTL: the whole history HistoryTTL after
// the last publish (as the Redis stream key's EXPIRE does), dedup keys and
// read cursors after theirs.
func (t *topic) expire(now time.Time, o bus.Options) {
	if t.history.len() > 0 && now.Sub(t.lastPub) >= o.HistoryTTL {
		t.history.reset()
		// The stream is gone: ids start again from the clock, as a
		// re-created Redis stream's would.
		t.last = event.ID{}
	}
	n := 0
	for n < len(t.dedupQ) && !now.Before(t.dedupQ[n].expires) {
		ref := t.dedupQ[n]
		if e, ok := t.dedup[ref.key]; ok && e.expires.Equal(ref.expires) {
			delete(t.dedup, ref.key)
		}
		n++
	}
	if n == len(t.dedupQ) {
		t.dedupQ = nil
	} else if n > 0 {
		// append reallocates from the live part when it grows, so the
		// dropped prefix does not pin memory for long.
		t.dedupQ = t.dedupQ[n:]
	}
	for r, e := range t.reads {
		if !now.Before(e.expires) {
			delete(t.reads, r)
		}
	}
}

// idle reports whether the topic holds nothing worth keeping.
func (t *topic) idle() bool {
	return t.history.len() == 0 && len(t.subs) == 0 && len(t.dedup) == 0 && len(t.reads) == 0
}

func (t *topic) removeSub(s *subscription) {
	for i, x := range t.subs {
		if x.s == s {
			last := len(t.subs) - 1
			t.subs[i] = t.subs[last]
			t.subs[last] = subEntry{}
			t.subs = t.subs[:last]
			return
		}
	}
}
