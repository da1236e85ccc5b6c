package redis

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// historyCall is one History call of a round and what it must return.
type historyCall struct {
	after string
	limit int
	want  []string
	trunc bool
}

// TestHistoryCoalescedMatchesOwnReads: concurrent History calls of one
// topic from many positions (nearby, far apart, past the shared page, an id
// that was never in the stream) each get exactly what a read of their own
// returns, and at least one round shares a Redis read among calls.
func TestHistoryCoalescedMatchesOwnReads(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ids := publishN(t, b, "storm:1", 0, 300)
	var calls []historyCall
	for i := 0; i < 300; i += 7 {
		for _, limit := range []int{5, 100} {
			end := min(i+1+limit, len(ids))
			calls = append(calls, historyCall{after: ids[i], limit: limit, want: ids[i+1 : end]})
		}
	}
	calls = append(calls, historyCall{after: ids[299], limit: 10})
	never, _ := event.ParseID(ids[10])
	never.Seq += 1000 // between ids[10] and ids[11]: not an event
	k := 0
	for k < len(ids) {
		if id, _ := event.ParseID(ids[k]); id.Compare(never) > 0 {
			break
		}
		k++
	}
	if k+3 > len(ids) {
		t.Fatalf("published too fast to fabricate a missing id: %v", ids[:12])
	}
	calls = append(calls, historyCall{after: never.String(), limit: 3, want: ids[k : k+3], trunc: true})

	deadline := time.Now().Add(20 * time.Second)
	for round := 0; ; round++ {
		before := b.Stats()
		runHistoryRound(t, b, calls)
		after := b.Stats()
		asked := after.HistoryRequests - before.HistoryRequests
		reads := after.HistoryReads - before.HistoryReads
		if asked != uint64(len(calls)) {
			t.Fatalf("round %d: %d history requests counted, want %d", round, asked, len(calls))
		}
		if reads < asked {
			t.Logf("round %d: %d calls served by %d reads", round, asked, reads)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no round shared a read within 20s (last: %d calls, %d reads)", asked, reads)
		}
	}
}

func runHistoryRound(t *testing.T, b *Bus, calls []historyCall) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, len(calls))
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			page, err := b.History(context.Background(), "storm:1", c.after, c.limit)
			if err != nil {
				errs <- err.Error()
				return
			}
			got := make([]string, len(page.Events))
			for i, d := range page.Events {
				got[i] = d.ID.String()
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") || page.Truncated != c.trunc {
				errs <- "after " + c.after + ": got " + strings.Join(got, ",") + " want " + strings.Join(c.want, ",")
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestReplayReadsSharedPerTopic: Subscribe calls starting together from
// different positions of one topic each get exactly the events after their
// own position, and at least one round serves several from one read.
func TestReplayReadsSharedPerTopic(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ids := publishN(t, b, "storm:2", 0, 60)
	deadline := time.Now().Add(20 * time.Second)
	for round := 0; ; round++ {
		before := b.Stats()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 60; i += 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				pos, _ := event.ParseID(ids[i])
				rec := newRecorder()
				sub, err := b.Subscribe(context.Background(), []string{"storm:2"}, event.Cursor{{Topic: "storm:2", ID: pos}}, rec)
				if err != nil {
					t.Errorf("subscribe from %s: %v", ids[i], err)
					return
				}
				defer sub.Close()
				got, ev := rec.snapshot()
				if strings.Join(deliveredIDs(got), ",") != strings.Join(ids[i+1:], ",") {
					t.Errorf("from %s: got %v", ids[i], ev)
				}
			}()
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		after := b.Stats()
		asked := after.ReplayRequests - before.ReplayRequests
		reads := after.ReplayReads - before.ReplayReads
		if reads < asked {
			t.Logf("round %d: %d replays served by %d reads", round, asked, reads)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no round shared a replay read within 20s (last: %d replays, %d reads)", asked, reads)
		}
	}
}

// TestReplayAtTailReadsNothing: a Subscribe whose position is the topic's
// last id, on a topic this Bus already follows, costs no stream read and
// still gets every later event, without a truncated signal.
func TestReplayAtTailReadsNothing(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	first := newRecorder()
	sub1, err := b.Subscribe(context.Background(), []string{"storm:3"}, event.Cursor{}, first)
	if err != nil {
		t.Fatal(err)
	}
	defer sub1.Close()
	ids := publishN(t, b, "storm:3", 0, 5)
	first.waitFor(t, 5, 10*time.Second)
	before := b.Stats()
	tail, _ := event.ParseID(ids[4])
	rec := newRecorder()
	sub2, err := b.Subscribe(context.Background(), []string{"storm:3"}, event.Cursor{{Topic: "storm:3", ID: tail}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	st := b.Stats()
	if st.ReplayReads != before.ReplayReads || st.ReplayRequests != before.ReplayRequests+1 {
		t.Fatalf("replay reads %d -> %d, requests %d -> %d; want no read for one request",
			before.ReplayReads, st.ReplayReads, before.ReplayRequests, st.ReplayRequests)
	}
	more := publishN(t, b, "storm:3", 5, 3)
	got := rec.waitFor(t, 3, 10*time.Second)
	_, ev := rec.snapshot()
	if strings.Join(deliveredIDs(got), ",") != strings.Join(more, ",") || len(ev) != 3 {
		t.Fatalf("after subscribing at the tail: %v, want %v", ev, more)
	}
}
