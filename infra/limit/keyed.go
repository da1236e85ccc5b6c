// Package limit holds the relay's abuse limits: per-key token buckets
// (publish rate, new connections), concurrent connections per client, and
// the client address they are keyed by.
package limit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys caps the buckets a Keyed holds whatever the idle eviction: a
// flood of distinct keys (IPv6 addresses are cheap) must not grow memory
// without bound. Past the cap an arbitrary bucket is dropped, which at
// worst hands one key a fresh burst.
const maxKeys = 100_000

// Keyed is a token-bucket limiter per key (client IP, API key name, token
// subject). Safe for concurrent use.
type Keyed struct {
	limit rate.Limit
	burst int
	idle  time.Duration
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewKeyed allows each key perSecond events per second on average with
// bursts of burst (at least 1). Buckets unused for idle (default 10 min)
// are evicted; a bucket idle that long has refilled anyway when
// idle >= burst/perSecond. perSecond <= 0 means unlimited.
func NewKeyed(perSecond float64, burst int, idle time.Duration) *Keyed {
	if burst < 1 {
		burst = 1
	}
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	k := &Keyed{burst: burst, idle: idle, now: time.Now, buckets: make(map[string]*bucket)}
	if perSecond > 0 && !math.IsInf(perSecond, 1) && !math.IsNaN(perSecond) {
		k.limit = rate.Limit(perSecond)
	} else {
		k.limit = rate.Inf
	}
	return k
}

// Allow takes one token from key's bucket. When it is empty, ok is false and
// retryAfter says when a token will be there (for a Retry-After header).
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	return k.AllowN(key, 1)
}

// AllowN takes n tokens from key's bucket, all or nothing: a refused batch
// spends nothing, so the caller's next, smaller request is judged on the
// budget it really has. n above the burst can never pass: AllowN answers
// false with retryAfter 0 so the caller can say "split it" instead of
// "retry later".
func (k *Keyed) AllowN(key string, n int) (ok bool, retryAfter time.Duration) {
	if k == nil || k.limit == rate.Inf || n <= 0 {
		return true, 0
	}
	if n > k.burst {
		return false, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked(now)
	b := k.buckets[key]
	if b == nil {
		if len(k.buckets) >= maxKeys {
			for victim := range k.buckets { // map order is random
				delete(k.buckets, victim)
				break
			}
		}
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, n)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now) // we do not wait, so give the tokens back
		return false, d
	}
	return true, 0
}

// Len is the number of buckets held (metrics, tests).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// sweepLocked drops idle buckets, at most every idle/2 so Allow stays O(1)
// amortised.
func (k *Keyed) sweepLocked(now time.Time) {
	if now.Sub(k.lastSweep) < k.idle/2 {
		return
	}
	k.lastSweep = now
	for key, b := range k.buckets {
		if now.Sub(b.seen) >= k.idle {
			delete(k.buckets, key)
		}
	}
}

// Hold is for limits that charge only some outcomes (the webhook failure
// limit charges refused deliveries): it runs before the work whose outcome
// decides. While key's bucket is full (nothing charged lately) it holds
// nothing and allows, so a key that is never charged is never limited, and
// release is nil: charge afterwards with Allow if the outcome calls for it.
// Once the bucket is below its burst it takes a token up front, so
// concurrent requests cannot all slip through on the last token; release
// gives that token back when the outcome is not charged. ok is false, with
// when to retry, when no token is left.
func (k *Keyed) Hold(key string) (release func(), ok bool, retryAfter time.Duration) {
	if k == nil || k.limit == rate.Inf {
		return nil, true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.buckets[key]
	if b == nil || b.lim.TokensAt(now) >= float64(k.burst) {
		return nil, true, 0
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, false, d
	}
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		res.CancelAt(k.now())
	}, true, 0
}
