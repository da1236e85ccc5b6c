package sse_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// TestKickStormLosesNothing: with a queue of 2, concurrent publishers on
// three topics kick the subscribers over and over; every subscriber still
// ends with every event of its topics exactly once, in order per topic.
func TestKickStormLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	e := newEnv(t, hub.Options{QueueSize: 2}, sse.Options{})
	topics := []string{"s:1", "s:2", "s:3"}
	const clients, perTopic = 12, 300
	recs := make([]*recorder, clients)
	for i := range recs {
		recs[i] = newRecorder()
		// Kicked clients replay while the others are still publishing: on
		// a loaded machine under -race this takes a while.
		recs[i].timeout = time.Minute
		recs[i].run(t, client.Options{BaseURL: e.srv.URL, Topics: topics})
		recs[i].waitOpen(t)
	}
	want := make(map[string][]string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(topics))
	for _, tp := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]bus.Message, 10)
			for i := range msgs {
				msgs[i] = bus.Message{Topic: tp, Type: "t", Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", 512) + `"}`)}
			}
			for range perTopic / 10 {
				pub, err := e.bus.Publish(context.Background(), msgs)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, p := range pub {
					want[tp] = append(want[tp], tp+"/"+p.Event.ID)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
	for i, r := range recs {
		got := r.wait(t, len(topics)*perTopic)
		for _, tp := range topics {
			var mine []string
			for _, id := range got {
				if strings.HasPrefix(id, tp+"/") {
					mine = append(mine, id)
				}
			}
			if !slices.Equal(mine, want[tp]) {
				t.Fatalf("client %d topic %s: got %d events, want %d (first diff at %d)", i, tp, len(mine), len(want[tp]), firstDiff(mine, want[tp]))
			}
		}
	}
	kicks := e.metric(t, "hookrelay_kicks_total", "reason", "slow_consumer")
	t.Logf("%d clients x %d events survived %v slow-consumer kicks", clients, len(topics)*perTopic, kicks)
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
