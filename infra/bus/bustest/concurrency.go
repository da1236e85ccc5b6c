package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// testConcurrentPublishers: N publishers x M events over two topics; every
// subscriber sees every event once, each topic in id order and each
// publisher's events in the order it published them.
func testConcurrentPublishers(t *testing.T, newBus NewBus) {
	const publishers, perPublisher, subscribers = 4, 100, 3
	b := newBus(t, bus.Options{})
	topics := []string{"conc:0", "conc:1"}
	cs := make([]*Collector, subscribers)
	for i := range cs {
		cs[i], _ = subscribe(t, b, topics, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for g := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				m := bus.Message{Topic: topics[g%2], Type: "conc", Data: json.RawMessage(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))}
				if _, err := b.Publish(context.Background(), []bus.Message{m}); err != nil {
					errs <- fmt.Errorf("publisher %d event %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k, c := range cs {
		ds := wait(t, c, publishers*perPublisher)
		if len(ds) != publishers*perPublisher {
			t.Fatalf("subscriber %d: %d deliveries, want %d", k, len(ds), publishers*perPublisher)
		}
		for topic, tds := range byTopic(ds) {
			increasing(t, fmt.Sprintf("subscriber %d %s", k, topic), deliveredIDs(tds))
		}
		next := make(map[int]int)
		for _, d := range ds {
			e, err := d.Decode()
			if err != nil {
				t.Fatal(err)
			}
			var v struct{ G, I int }
			if err := json.Unmarshal(e.Data, &v); err != nil {
				t.Fatal(err)
			}
			if v.I != next[v.G] {
				t.Fatalf("subscriber %d: publisher %d event %d arrived when %d was due", k, v.G, v.I, next[v.G])
			}
			next[v.G]++
		}
	}
}

// testPublishWhileSubscribing: one publisher hammers a topic while
// subscribers join from cursors (and live) at random points. Each must see a
// contiguous, gap-free, duplicate-free run of the topic's sequence: from
// right after its cursor (or from wherever it joined live) to the end.
func testPublishWhileSubscribing(t *testing.T, newBus NewBus) {
	const joiners, every, maxTotal = 20, 25, 5000
	const topic = "race"
	b := newBus(t, bus.Options{HistoryLen: 2 * maxTotal})
	var (
		mu        sync.Mutex
		published []event.ID
	)
	progress := make(chan struct{}, 1)
	stop := make(chan struct{})
	done := make(chan error, 1)
	// The publisher runs until every joiner has subscribed, then publishes
	// once more so that live joiners too have something to check.
	go func() {
		stopping := false
		for i := 0; ; i++ {
			if i == maxTotal {
				done <- fmt.Errorf("publisher: %d events and the joiners are not done", maxTotal)
				return
			}
			ps, err := b.Publish(context.Background(), []bus.Message{msg(topic, i)})
			if err == nil {
				var id event.ID
				id, err = event.ParseID(ps[0].Event.ID)
				mu.Lock()
				published = append(published, id)
				mu.Unlock()
			}
			if err != nil || stopping {
				done <- err
				return
			}
			if i%every == every-1 {
				select {
				case progress <- struct{}{}:
				default:
				}
			}
			select {
			case <-stop:
				stopping = true
			default:
			}
		}
	}()
	type joined struct {
		c    *Collector
		from event.ID
		live bool
	}
	var js []joined
	rng := rand.New(rand.NewPCG(1, 2))
	for len(js) < joiners {
		select {
		case <-progress:
		case err := <-done:
			t.Fatalf("publisher ended early: %v", err)
		}
		mu.Lock()
		pos := published[rng.IntN(len(published))]
		mu.Unlock()
		j := joined{live: len(js)%4 == 3, from: pos}
		var from event.Cursor
		if !j.live {
			from.Set(topic, pos)
		}
		j.c, _ = subscribe(t, b, []string{topic}, from)
		js = append(js, j)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	total := len(published)
	index := make(map[event.ID]int, total)
	for i, id := range published {
		index[id] = i
	}
	last := published[total-1]
	for k, j := range js {
		ds, err := j.c.WaitUntil(func(ds []bus.Delivery) bool {
			return len(ds) > 0 && ds[len(ds)-1].ID == last
		}, Waiting)
		if err != nil {
			t.Fatalf("joiner %d (from %v, live %v): %v", k, j.from, j.live, err)
		}
		if len(ds) == 0 {
			continue
		}
		start, ok := index[ds[0].ID]
		if !ok {
			t.Fatalf("joiner %d got unknown id %v", k, ds[0].ID)
		}
		if !j.live && start != index[j.from]+1 {
			t.Fatalf("joiner %d from %v: first delivery %v is %d events later, want the next one", k, j.from, ds[0].ID, start-index[j.from])
		}
		sameIDs(t, fmt.Sprintf("joiner %d", k), deliveredIDs(ds), published[start:])
		if tr := j.c.Truncations(); len(tr) > 0 {
			t.Fatalf("joiner %d: unexpected truncation", k)
		}
	}
}
