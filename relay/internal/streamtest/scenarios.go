package streamtest

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
)

// KickStorm: concurrent publishers on three topics kick the subscribers
// (over transport, on e, whose hub should have a tiny queue) over and over;
// every subscriber still ends with every event of its topics exactly once, in
// order per topic.
func KickStorm(t *testing.T, e *Env, transport client.Transport) {
	t.Helper()
	topics := []string{"s:1", "s:2", "s:3"}
	const clients, perTopic = 12, 300
	recs := make([]*Recorder, clients)
	for i := range recs {
		recs[i] = NewRecorder()
		// Kicked clients replay while the others are still publishing: on
		// a loaded machine under -race this takes a while.
		recs[i].Timeout = time.Minute
		recs[i].Run(t, client.Options{BaseURL: e.Srv.URL, Topics: topics, Transport: transport})
		recs[i].WaitOpen(t)
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
				pub, err := e.Bus.Publish(context.Background(), msgs)
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
		got := r.Wait(t, len(topics)*perTopic)
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
	kicks := e.Metric(t, "hookrelay_kicks_total", "reason", "slow_consumer")
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

// SlowConsumerKickedAndResumes: a subscriber (over transport, on e, whose
// hub should have a small queue) that stops reading is closed with 4008 once
// its queue overflows; it resumes from its cursor and ends up with every
// event exactly once.
func SlowConsumerKickedAndResumes(t *testing.T, e *Env, transport client.Transport) {
	t.Helper()
	r := NewRecorder()
	r.Gate = make(chan struct{})
	r.Run(t, client.Options{BaseURL: e.Srv.URL, Topics: []string{"big:1"}, Transport: transport})
	r.WaitOpen(t)
	payload := `{"pad":"` + strings.Repeat("x", 32<<10) + `"}`
	var want []string
	WaitFor(t, "a slow-consumer kick", func() bool {
		want = append(want, e.Publish(t, "big:1", 10, payload)...)
		return e.Metric(t, "hookrelay_kicks_total", "reason", "slow_consumer") > 0
	})
	close(r.Gate)
	if code := r.WaitClose(t); code != 4008 {
		t.Fatalf("close code %d, want 4008", code)
	}
	SameEvents(t, r.Wait(t, len(want)), want)
}
