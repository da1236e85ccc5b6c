package hub_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// blockSink blocks every write until release is closed, like a peer whose
// socket buffer is full.
type blockSink struct{ release chan struct{} }

func (s blockSink) Write(c *hub.Client, items []hub.Item) error {
	<-s.release
	return nil
}

func (blockSink) Close(*hub.Client, hub.Reason) {}

// Pooled writers must not let stuck peers hold up healthy ones: with more
// blocked peers than pooled writers, every healthy client still gets the
// event promptly (the stall rescue gives queued clients own goroutines).
func TestStuckPeersDoNotBlockOthers(t *testing.T) {
	b, h := setup(t, hub.Options{})
	release := make(chan struct{})
	defer close(release)
	admit := func(s hub.Sink) {
		c, err := h.Admit("test", s)
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Resolve(t.Context(), []string{"hol:1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(t.Context(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 64 {
		admit(blockSink{release})
	}
	var total, target atomic.Int64
	target.Store(200)
	s := countSink{total: &total, target: &target, reached: make(chan struct{}, 1)}
	for range 200 {
		admit(s)
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
