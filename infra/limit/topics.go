package limit

import (
	"hash/maphash"
	"sync"
	"time"
)

// maxTopicSets caps the keys a Topics holds, like maxKeys for Keyed: memory
// is at most maxTopicSets x max topics x 8 bytes.
const maxTopicSets = 10_000

// Topics caps the distinct topics each key (a token subject) may touch per
// window: a publish grant with a wildcard ("room:*") would otherwise let a
// publisher within its rate create a new Redis stream per event, each kept
// for the history TTL. Topics are remembered as 64-bit hashes. Safe for
// concurrent use.
type Topics struct {
	max    int
	window time.Duration
	seed   maphash.Seed
	now    func() time.Time

	mu   sync.Mutex
	sets map[string]*topicSet
}

type topicSet struct {
	start time.Time
	seen  map[uint64]struct{}
}

// NewTopics allows max distinct topics per key per window; max <= 0 means
// unlimited.
func NewTopics(max int, window time.Duration) *Topics {
	if window <= 0 {
		window = time.Hour
	}
	return &Topics{max: max, window: window, seed: maphash.MakeSeed(), now: time.Now, sets: make(map[string]*topicSet)}
}

// Allow reports whether key may use every one of topics now, and records
// them when it may: all or nothing, like Keyed.AllowN.
func (t *Topics) Allow(key string, topics ...string) bool {
	if t == nil || t.max <= 0 {
		return true
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	set := t.sets[key]
	if set == nil || now.Sub(set.start) >= t.window {
		if set == nil && len(t.sets) >= maxTopicSets {
			t.evictLocked(now)
		}
		set = &topicSet{start: now, seen: make(map[uint64]struct{})}
		t.sets[key] = set
	}
	fresh := make(map[uint64]struct{})
	for _, topic := range topics {
		h := maphash.String(t.seed, topic)
		if _, ok := set.seen[h]; !ok {
			fresh[h] = struct{}{}
		}
	}
	if len(set.seen)+len(fresh) > t.max {
		return false
	}
	for h := range fresh {
		set.seen[h] = struct{}{}
	}
	return true
}

// evictLocked drops expired sets, or an arbitrary one when none expired.
func (t *Topics) evictLocked(now time.Time) {
	for k, s := range t.sets {
		if now.Sub(s.start) >= t.window {
			delete(t.sets, k)
		}
	}
	if len(t.sets) >= maxTopicSets {
		for k := range t.sets {
			delete(t.sets, k)
			break
		}
	}
}
