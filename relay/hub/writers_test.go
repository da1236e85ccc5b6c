package hub_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// blockSink is stalled and blocks every write until release is closed, like
// a peer whose socket buffer is full.
type blockSink struct{ release chan struct{} }

func (s blockSink) Write(c *hub.Client, items []hub.Item) error {
	<-s.release
	return nil
}

func (blockSink) Stalled() bool { return true }

func (blockSink) Flush() error { return nil }

func (blockSink) Close(*hub.Client, hub.Reason) {}

// Shared writers must not let stuck peers hold up healthy ones: with many
// more stalled peers than shards, every healthy client still gets the
// event promptly (stalled clients are written on goroutines of their own).
func TestStuckPeersDoNotBlockOthers(t *testing.T) {
	b, h := setup(t, hub.Options{})
	release := make(chan struct{})
	defer close(release)
	for range 64 {
		subscribe(t, h, blockSink{release}, []string{"hol:1"}, nil)
	}
	var total, target atomic.Int64
	target.Store(200)
	s := countSink{total: &total, target: &target, reached: make(chan struct{}, 1)}
	for range 200 {
		subscribe(t, h, s, []string{"hol:1"}, nil)
	}
	start := time.Now()
	publish(t, b, "hol:1", 1)
	select {
	case <-s.reached:
		t.Logf("200 healthy clients served in %s with 64 stuck peers", time.Since(start))
	case <-time.After(750 * time.Millisecond): // a sweep (1 s) would be too late
		t.Fatalf("healthy clients got %d of 200 deliveries in 750 ms behind stuck peers", total.Load())
	}
}

// stallSink leaves a backlog on the write after stallNext is set, like a
// socket that took part of a frame; Flush then waits for release.
type stallSink struct {
	stalled, stallNext atomic.Bool
	entered            chan struct{} // a Flush started with a backlog
	release            chan struct{}
	mu                 sync.Mutex
	events             []string
}

func (s *stallSink) Write(c *hub.Client, items []hub.Item) error {
	s.mu.Lock()
	for i := range items {
		if items[i].Kind == hub.KindEvent {
			c.Advance(&items[i])
			s.events = append(s.events, items[i].Topic+"/"+items[i].ID.String())
		}
	}
	s.mu.Unlock()
	if s.stallNext.CompareAndSwap(true, false) {
		s.stalled.Store(true)
	}
	return nil
}

func (s *stallSink) Stalled() bool { return s.stalled.Load() }

func (s *stallSink) Flush() error {
	if !s.stalled.Load() {
		return nil
	}
	s.entered <- struct{}{}
	<-s.release
	s.stalled.Store(false)
	return nil
}

func (*stallSink) Close(*hub.Client, hub.Reason) {}

func (s *stallSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// A write the socket only partly takes moves the client to a writer of its
// own, which flushes the rest at once (not at the next event), while the
// shard goes on with everyone else; once flushed, the client is written
// by the shard again, with nothing lost or reordered.
func TestStalledClientIsFlushedAndReturns(t *testing.T) {
	b, h := setup(t, hub.Options{})
	st := &stallSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	subscribe(t, h, st, []string{"stall:1"}, nil)
	var total, target atomic.Int64
	healthy := countSink{total: &total, target: &target, reached: make(chan struct{}, 1)}
	for range 50 {
		subscribe(t, h, healthy, []string{"stall:1"}, nil)
	}
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}

	st.stallNext.Store(true)
	target.Store(50)
	ids := publish(t, b, "stall:1", 1)
	wait(healthy.reached, "healthy clients, first event")
	wait(st.entered, "a flush of the stalled client without a further event")

	// While its flush waits, events queue for it; the others get them.
	target.Store(150)
	ids = append(ids, publish(t, b, "stall:1", 2)...)
	wait(healthy.reached, "healthy clients behind a stalled one")

	close(st.release)
	target.Store(200)
	ids = append(ids, publish(t, b, "stall:1", 1)...)
	wait(healthy.reached, "healthy clients, last event")
	deadline := time.Now().Add(5 * time.Second)
	for len(st.got()) < len(ids) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := st.got(); !slices.Equal(got, ids) {
		t.Fatalf("stalled client got %v, want %v", got, ids)
	}
	if st.Stalled() {
		t.Fatal("client still stalled after its flush")
	}
}
