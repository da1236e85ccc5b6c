package limit

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestKeyedBucket(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	k := NewKeyed(2, 3, time.Minute) // 2/s, burst 3
	k.now = clk.now
	for i := 0; i < 3; i++ {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("burst token %d refused", i)
		}
	}
	ok, retry := k.Allow("a")
	if ok || retry <= 0 || retry > 500*time.Millisecond {
		t.Fatalf("4th: ok=%v retry=%v, want refused with retry <= 500ms", ok, retry)
	}
	// A refusal must not consume a token: after retry, exactly one is back.
	if ok, _ := k.Allow("b"); !ok {
		t.Fatal("other key shares the bucket")
	}
	clk.advance(retry)
	if ok, _ := k.Allow("a"); !ok {
		t.Fatal("token not back after retryAfter")
	}
	if ok, _ := k.Allow("a"); ok {
		t.Fatal("two tokens after one interval")
	}
}

func TestKeyedUnlimitedAndEviction(t *testing.T) {
	u := NewKeyed(0, 0, 0)
	for i := 0; i < 1000; i++ {
		if ok, _ := u.Allow("x"); !ok {
			t.Fatal("rate 0 must be unlimited")
		}
	}
	if u.Len() != 0 {
		t.Fatal("unlimited limiter keeps state")
	}

	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	k := NewKeyed(1, 1, time.Minute)
	k.now = clk.now
	for i := 0; i < 100; i++ {
		k.Allow(fmt.Sprint("ip", i))
	}
	if k.Len() != 100 {
		t.Fatalf("len %d", k.Len())
	}
	clk.advance(2 * time.Minute)
	k.Allow("fresh")
	if k.Len() != 1 {
		t.Fatalf("idle keys not evicted: len %d", k.Len())
	}
}

func TestKeyedBoundedMemory(t *testing.T) {
	k := NewKeyed(1, 1, time.Hour)
	for i := 0; i < maxKeys+500; i++ {
		k.Allow(fmt.Sprint(i))
	}
	if k.Len() > maxKeys {
		t.Fatalf("len %d > cap %d", k.Len(), maxKeys)
	}
}

func TestConcurrent(t *testing.T) {
	c := NewConcurrent(2)
	r1, ok1 := c.Acquire("ip")
	r2, ok2 := c.Acquire("ip")
	if !ok1 || !ok2 {
		t.Fatal("first two refused")
	}
	if _, ok := c.Acquire("ip"); ok {
		t.Fatal("third allowed")
	}
	if _, ok := c.Acquire("other"); !ok {
		t.Fatal("other key refused")
	}
	r1()
	r1() // double release must not free a second slot
	if c.Count("ip") != 1 {
		t.Fatalf("count %d after one release", c.Count("ip"))
	}
	r3, ok := c.Acquire("ip")
	if !ok {
		t.Fatal("slot not freed")
	}
	r2()
	r3()
	if c.Count("ip") != 0 || len(c.counts) != 1 { // "other" still held
		t.Fatalf("state not cleaned: %v", c.counts)
	}

	unl := NewConcurrent(0)
	for i := 0; i < 100; i++ {
		if _, ok := unl.Acquire("x"); !ok {
			t.Fatal("max 0 must be unlimited")
		}
	}
}

func TestConcurrentRace(t *testing.T) {
	c := NewConcurrent(5)
	var wg sync.WaitGroup
	var mu sync.Mutex
	held, maxHeld := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				rel, ok := c.Acquire("k")
				if !ok {
					continue
				}
				mu.Lock()
				held++
				maxHeld = max(maxHeld, held)
				held--
				mu.Unlock()
				rel()
			}
		}()
	}
	wg.Wait()
	if maxHeld > 5 || c.Count("k") != 0 {
		t.Fatalf("maxHeld %d count %d", maxHeld, c.Count("k"))
	}
}

func TestClientIP(t *testing.T) {
	cases := []struct {
		name, remote string
		xff          []string
		trust        bool
		want         string
	}{
		{"peer", "203.0.113.7:5555", nil, false, "203.0.113.7"},
		{"xff ignored untrusted", "10.0.0.1:1", []string{"198.51.100.1"}, false, "10.0.0.1"},
		{"xff last hop", "10.0.0.1:1", []string{"1.2.3.4, 198.51.100.9"}, true, "198.51.100.9"},
		{"forged first entries", "10.0.0.1:1", []string{"6.6.6.6", "7.7.7.7, 198.51.100.9"}, true, "198.51.100.9"},
		{"garbage xff falls back", "10.0.0.1:1", []string{"not-an-ip"}, true, "10.0.0.1"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, false, "2001:db8::1"},
		{"mapped v4", "[::ffff:192.0.2.1]:1", nil, false, "192.0.2.1"},
		{"no port", "192.0.2.5", nil, false, "192.0.2.5"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, tc.trust); got != tc.want {
			t.Errorf("%s: got %q want %q", tc.name, got, tc.want)
		}
	}
	if got := IPKey("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("IPKey v6 = %q", got)
	}
	if got := IPKey("192.0.2.1"); got != "192.0.2.1" {
		t.Errorf("IPKey v4 = %q", got)
	}
}

func BenchmarkKeyedAllow(b *testing.B) {
	k := NewKeyed(1e9, 1000, time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k.Allow("10.0.0.1")
		}
	})
}

// TestKeyedAllowNAllOrNothing: a refused batch spends nothing, and a batch
// above the burst is refused with retryAfter 0 ("never", not "later").
func TestKeyedAllowNAllOrNothing(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	k := NewKeyed(1, 5, time.Minute) // 1/s, burst 5
	k.now = clk.now
	if ok, retry := k.AllowN("a", 6); ok || retry != 0 {
		t.Fatalf("batch above the burst: ok=%v retry=%v, want refused with 0", ok, retry)
	}
	if ok, _ := k.AllowN("a", 4); !ok {
		t.Fatal("batch of 4 within a fresh burst of 5 refused")
	}
	if ok, retry := k.AllowN("a", 3); ok || retry <= 0 {
		t.Fatalf("batch of 3 with 1 token left: ok=%v retry=%v, want refused with a wait", ok, retry)
	}
	// The refused batch of 3 took nothing: the 1 token left is still there.
	if ok, _ := k.AllowN("a", 1); !ok {
		t.Fatal("refused batch spent tokens")
	}
	if ok, _ := k.AllowN("a", 1); ok {
		t.Fatal("more tokens than the burst")
	}
}

// M2 (security review 2026-12): a wildcard publish grant let a token
// publisher create a new topic (a Redis stream kept for the history TTL)
// with every event. Topics caps the distinct topics per key per window,
// all or nothing per call, and forgets them when the window ends.
func TestTopicsCapsDistinctTopicsPerWindow(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tp := NewTopics(3, time.Hour)
	tp.now = func() time.Time { return now }
	if !tp.Allow("mallory", "room:1", "room:2", "room:2") {
		t.Fatal("two topics refused")
	}
	if !tp.Allow("mallory", "room:1", "room:3") {
		t.Fatal("a third topic refused")
	}
	if tp.Allow("mallory", "room:1", "room:4") {
		t.Fatal("a fourth topic within the window allowed")
	}
	if !tp.Allow("mallory", "room:2") || !tp.Allow("alice", "room:4") {
		t.Fatal("known topics, or another key, refused")
	}
	now = now.Add(time.Hour)
	if !tp.Allow("mallory", "room:4", "room:5") {
		t.Fatal("new window still refuses")
	}
	if !NewTopics(0, 0).Allow("x", "a", "b") {
		t.Fatal("unlimited refused")
	}
}

// Hold holds nothing while a bucket is full (a key never charged is never
// limited), takes a token once it is not (so concurrent holders cannot all
// pass on the last token), refuses when none is left, and release gives
// the token back.
func TestKeyedHold(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	k := NewKeyed(1, 3, time.Minute)
	k.now = clk.now
	for range 10 {
		release, ok, _ := k.Hold("a")
		if !ok || release != nil {
			t.Fatalf("full bucket: ok=%v, held=%v; want allowed, nothing held", ok, release != nil)
		}
	}
	k.Allow("a") // one charged outcome: 2 left
	r1, ok1, _ := k.Hold("a")
	r2, ok2, _ := k.Hold("a")
	_, ok3, retry := k.Hold("a")
	if !ok1 || !ok2 || r1 == nil || r2 == nil {
		t.Fatal("two tokens left, but two holders did not both get one")
	}
	if ok3 || retry <= 0 || retry > time.Second {
		t.Fatalf("third holder: ok=%v retry=%v; want refused with retry <= 1s", ok3, retry)
	}
	r1() // not charged: the token is back
	if r, ok, _ := k.Hold("a"); !ok || r == nil {
		t.Fatal("released token not back")
	}
	if r, ok, _ := k.Hold("b"); !ok || r != nil {
		t.Fatal("another key is held or limited")
	}
	if r, ok, _ := NewKeyed(0, 0, 0).Hold("a"); !ok || r != nil {
		t.Fatal("an unlimited limiter holds or limits")
	}
}
