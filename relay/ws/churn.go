package ws

import (
	"math"
	"time"
)

// churnBucket is one connection's token bucket for subscribe and
// unsubscribe frames, in topics (I4 of the 2026-12 review: one connection
// churning a 100-topic subscribe/unsubscribe cost Redis ~5 000 commands/s,
// with no per-connection bound). It is used by the connection's reader
// only, one goroutine at a time, so it needs no lock; it is two words on
// every connection, so it is not a keyed limiter.
type churnBucket struct {
	tokens float64
	last   int64 // Unix ns of the last refill; 0 = never used (full)
}

// take spends n topics at rate per second with burst capacity; when it
// cannot, it spends nothing and says how long until it could. n is at most
// burst (Validate keeps the burst at or above the per-frame topic cap;
// a larger n is clamped so a frame is never refused for ever).
func (b *churnBucket) take(now time.Time, rate float64, burst, n int) (bool, time.Duration) {
	n = max(1, min(n, burst))
	t := now.UnixNano()
	if b.last == 0 {
		b.tokens = float64(burst)
	} else if dt := t - b.last; dt > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+float64(dt)/1e9*rate)
	}
	b.last = t
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return true, 0
	}
	need := (float64(n) - b.tokens) / rate
	return false, time.Duration(math.Ceil(need * 1e9))
}
