package redis

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestResubscribeChurn: the topic's only subscription is closed (UNSUBSCRIBE)
// and a new one resumes from its last id (SUBSCRIBE again) over and over
// while a publisher keeps going. Stitched together, the subscriptions saw
// the published sequence exactly: no gap at any hand-over, no duplicate.
func TestResubscribeChurn(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	pub := newTestBus(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	published := make(chan []string, 1)
	go func() {
		var ids []string
		defer func() { published <- ids }()
		for i := 0; ctx.Err() == nil; i++ {
			out, err := pub.Publish(context.Background(), []bus.Message{msg("churn", i)})
			if err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			ids = append(ids, out[0].Event.ID)
		}
	}()
	var seen []string
	from := event.Cursor{{Topic: "churn"}} // 0-0: from the first event
	for round := range 30 {
		r := newRecorder()
		sub, err := b.Subscribe(context.Background(), []string{"churn"}, from, r)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		r.waitFor(t, 1, 5*time.Second)
		sub.Close()
		got, events := r.snapshot()
		if len(events) != len(got) {
			t.Fatalf("round %d: unexpected truncation: %v", round, events)
		}
		seen = append(seen, deliveredIDs(got)...)
		last := got[len(got)-1].ID
		from = event.Cursor{{Topic: "churn", ID: last}}
	}
	cancel()
	all := <-published
	if len(seen) == 0 || len(all) < len(seen) {
		t.Fatalf("saw %d of %d", len(seen), len(all))
	}
	if want := all[:len(seen)]; !slices.Equal(seen, want) {
		for i := range seen {
			if seen[i] != want[i] {
				t.Fatalf("at %d saw %s, want %s", i, seen[i], want[i])
			}
		}
	}
	t.Logf("%d events across 30 subscriptions", len(seen))
}
