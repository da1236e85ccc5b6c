package limit

import "sync"

// Concurrent caps simultaneous holders per key (open connections per client
// IP). Memory is proportional to the keys currently holding a slot.
type Concurrent struct {
	max int

	mu     sync.Mutex
	counts map[string]int
}

// NewConcurrent allows max simultaneous holders per key; max <= 0 means
// unlimited.
func NewConcurrent(max int) *Concurrent {
	return &Concurrent{max: max, counts: make(map[string]int)}
}

// Acquire takes a slot for key. On success release must be called exactly
// once when the holder is done; calling it again is harmless.
func (c *Concurrent) Acquire(key string) (release func(), ok bool) {
	if c == nil || c.max <= 0 {
		return func() {}, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts[key] >= c.max {
		return nil, false
	}
	c.counts[key]++
	var once sync.Once
	return func() { once.Do(func() { c.release(key) }) }, true
}

func (c *Concurrent) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.counts[key] - 1; n > 0 {
		c.counts[key] = n
	} else {
		delete(c.counts, key)
	}
}

// Count is the number of slots key holds.
func (c *Concurrent) Count(key string) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}
