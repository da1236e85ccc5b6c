package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// pausedBus is a Bus whose Redis holds every command while paused, so a
// test can line publishes up behind the pipelines in flight.
type pausedBus struct {
	*Bus
	admin *goredis.Client
}

func newPausedBus(t *testing.T) *pausedBus {
	t.Helper()
	srv := redistest.Start(t)
	// Pipelines wait on the paused server: the read timeout must outlast it.
	b := newTestBus(t, srv, func(o *Options) { o.ReadTimeout = 20 * time.Second })
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = admin.Close() })
	return &pausedBus{Bus: b, admin: admin}
}

// pause holds Redis's write commands. It publishes once first so the
// script is cached (a NOSCRIPT retry would add round trips), and returns
// the pipeline count at the pause.
func (p *pausedBus) pause(t *testing.T) uint64 {
	t.Helper()
	publishN(t, p.Bus, "warm", 0, 1)
	n := p.Stats().PublishPipelines
	// 15 s is a safety net: the tests unpause as soon as calls are queued.
	if err := p.admin.Do(context.Background(), "CLIENT", "PAUSE", 15000, "WRITE").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	return n
}

func (p *pausedBus) unpause(t *testing.T) {
	t.Helper()
	if err := p.admin.Do(context.Background(), "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatalf("CLIENT UNPAUSE: %v", err)
	}
}

// fillPipelines starts one call per pipeline slot and waits until they
// are all in flight (held by the paused server), so later calls queue.
func (p *pausedBus) fillPipelines(t *testing.T) []<-chan callResult {
	t.Helper()
	var inflight []<-chan callResult
	for i := range DefaultPublishPipelines {
		inflight = append(inflight, publishAsync(context.Background(), p.Bus, msg("first", i)))
	}
	p.waitBatcher(t, DefaultPublishPipelines, 0)
	return inflight
}

// waitQueued polls until n calls wait in the batcher's queue.
func (p *pausedBus) waitQueued(t *testing.T, n int) {
	t.Helper()
	p.waitBatcher(t, DefaultPublishPipelines, n)
}

// waitBatcher polls until the batcher has running pipelines in flight and
// queued calls waiting.
func (p *pausedBus) waitBatcher(t *testing.T, running, queued int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.batch.mu.Lock()
		q, r := len(p.batch.queue), p.batch.running
		p.batch.mu.Unlock()
		if q == queued && r == running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued and %d pipelines in flight, want %d and %d", q, r, queued, running)
		}
		time.Sleep(time.Millisecond) // polling the queue, not waiting for time to pass
	}
}

type callResult struct {
	pubs []bus.Published
	err  error
}

// publishAsync starts one Publish call and returns where its outcome lands.
func publishAsync(ctx context.Context, b *Bus, msgs ...bus.Message) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		pubs, err := b.Publish(ctx, msgs)
		ch <- callResult{pubs, err}
	}()
	return ch
}

// TestConcurrentPublishesSharePipelines: with every pipeline slot busy,
// later calls queue and go out together in one round trip; each call gets
// exactly its own events, in its own order.
func TestConcurrentPublishesSharePipelines(t *testing.T) {
	p := newPausedBus(t)
	ctx := context.Background()
	base := p.pause(t)
	inflight := p.fillPipelines(t)
	const calls = 40
	var queued []<-chan callResult
	for i := range calls {
		topic := fmt.Sprintf("share:%d", i%4)
		// Three messages per call: they must come back in call order.
		queued = append(queued, publishAsync(ctx, p.Bus, msg(topic, 3*i), msg(topic, 3*i+1), msg(topic, 3*i+2)))
		p.waitQueued(t, i+1)
	}
	p.unpause(t)
	for _, ch := range inflight {
		if r := <-ch; r.err != nil {
			t.Fatalf("publish in flight: %v", r.err)
		}
	}
	seen := make(map[string]bool)
	for i, ch := range queued {
		r := <-ch
		if r.err != nil || len(r.pubs) != 3 {
			t.Fatalf("call %d: %d events, err %v", i, len(r.pubs), r.err)
		}
		var last event.ID
		for k, pub := range r.pubs {
			if want := fmt.Sprintf(`{"n":%d}`, 3*i+k); string(pub.Event.Data) != want || pub.Event.Topic != fmt.Sprintf("share:%d", i%4) {
				t.Fatalf("call %d event %d: %s %s, want data %s", i, k, pub.Event.Topic, pub.Event.Data, want)
			}
			id := mustParseID(t, pub.Event.ID)
			if id.Compare(last) <= 0 {
				t.Fatalf("call %d: id %s not after %s", i, id, last)
			}
			last = id
			key := pub.Event.Topic + " " + pub.Event.ID
			if seen[key] {
				t.Fatalf("id %s handed to two calls", key)
			}
			seen[key] = true
		}
	}
	// The in-flight calls took one round trip each; the 40 queued calls
	// (120 messages, under maxPipelineMessages) shared one more.
	if got, want := p.Stats().PublishPipelines-base, uint64(DefaultPublishPipelines+1); got != want {
		t.Fatalf("%d pipelines, want %d", got, want)
	}
	for topic := range 4 {
		page, err := p.History(ctx, fmt.Sprintf("share:%d", topic), "", 1000)
		if err != nil || len(page.Events) != 30 {
			t.Fatalf("history of share:%d: %d events, %v", topic, len(page.Events), err)
		}
	}
}

// TestSharedPipelineKeepsErrorsApart: a message that fails inside a shared
// pipeline fails its own call only.
func TestSharedPipelineKeepsErrorsApart(t *testing.T) {
	p := newPausedBus(t)
	ctx := context.Background()
	// A string where the topic's stream belongs: XADD fails WRONGTYPE.
	if err := p.admin.Set(ctx, p.keys.stream("broken"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	base := p.pause(t)
	inflight := p.fillPipelines(t)
	good1 := publishAsync(ctx, p.Bus, msg("fine", 1))
	p.waitQueued(t, 1)
	bad := publishAsync(ctx, p.Bus, msg("fine", 2), msg("broken", 3), msg("fine", 4))
	p.waitQueued(t, 2)
	good2 := publishAsync(ctx, p.Bus, msg("fine", 5))
	p.waitQueued(t, 3)
	p.unpause(t)
	for _, ch := range append(inflight, good1, good2) {
		if r := <-ch; r.err != nil || len(r.pubs) != 1 {
			t.Fatalf("good call: %d events, %v", len(r.pubs), r.err)
		}
	}
	r := <-bad
	if !errors.Is(r.err, bus.ErrUnavailable) || !strings.Contains(fmt.Sprint(r.err), "WRONGTYPE") {
		t.Fatalf("bad call: err = %v, want ErrUnavailable naming WRONGTYPE", r.err)
	}
	if len(r.pubs) != 1 || string(r.pubs[0].Event.Data) != `{"n":2}` {
		t.Fatalf("bad call returned %v, want the one event before the failure", r.pubs)
	}
	if got := p.Stats().PublishPipelines - base; got != uint64(DefaultPublishPipelines+1) {
		t.Fatalf("%d pipelines: the three queued calls did not share one", got)
	}
}

// TestQueuedPublishCancelled: a call whose context ends while it waits for
// a pipeline returns the context's error and publishes nothing.
func TestQueuedPublishCancelled(t *testing.T) {
	p := newPausedBus(t)
	ctx := context.Background()
	p.pause(t)
	inflight := p.fillPipelines(t)
	cctx, cancel := context.WithCancel(ctx)
	gone := publishAsync(cctx, p.Bus, msg("cancelled", 1))
	p.waitQueued(t, 1)
	stays := publishAsync(ctx, p.Bus, msg("cancelled", 2))
	p.waitQueued(t, 2)
	cancel()
	r := <-gone
	if !errors.Is(r.err, context.Canceled) || errors.Is(r.err, bus.ErrUnavailable) || len(r.pubs) != 0 {
		t.Fatalf("cancelled call: %v, %v; want context.Canceled and nothing published", r.pubs, r.err)
	}
	p.unpause(t)
	for _, ch := range append(inflight, stays) {
		if r := <-ch; r.err != nil {
			t.Fatalf("publish: %v", r.err)
		}
	}
	page, err := p.History(ctx, "cancelled", "", 10)
	if err != nil || len(page.Events) != 1 || !strings.Contains(string(page.Events[0].JSON), `{"n":2}`) {
		t.Fatalf("history: %d events, %v; want only the call that was not cancelled", len(page.Events), err)
	}
}

// TestManyPublishersRace runs many concurrent callers through the batcher
// (under -race) and checks every call's events are its own and every topic
// stays gap-free in its stream.
func TestManyPublishersRace(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				topic := fmt.Sprintf("race:%d", (g+i)%3)
				pubs, err := b.Publish(ctx, []bus.Message{msg(topic, g*1000+i)})
				if err != nil || len(pubs) != 1 || string(pubs[0].Event.Data) != fmt.Sprintf(`{"n":%d}`, g*1000+i) {
					errs <- fmt.Errorf("publisher %d call %d: %v %v", g, i, pubs, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for topic := range 3 {
		page, err := b.History(ctx, fmt.Sprintf("race:%d", topic), "", 1000)
		if err != nil || page.Truncated {
			t.Fatalf("history: %v truncated=%v", err, page.Truncated)
		}
		total += len(page.Events)
	}
	if total != 32*20 {
		t.Fatalf("%d events in the streams, want %d", total, 32*20)
	}
}

func mustParseID(t *testing.T, s string) event.ID {
	t.Helper()
	id, err := event.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOldEntriesAndMissingLastKey: a stream written by the earlier publish
// script (complete JSON in field e, no last-id key), and a last-id key lost
// on its own (eviction), both still give every new event its true
// predecessor: History continues after the old id without a truncation,
// and reads both entry forms.
func TestOldEntriesAndMissingLastKey(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	old := `{"id":"1700000000000-0","topic":"legacy","type":"t","time":"2026-01-01T00:00:00Z","data":{"old":true}}`
	if err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: b.keys.stream("legacy"), ID: "1700000000000-0",
		Values: []any{"p", "0-0", "e", old}}).Err(); err != nil {
		t.Fatal(err)
	}
	first := publishN(t, b, "legacy", 1, 1)[0]
	page, err := b.History(ctx, "legacy", "1700000000000-0", 10)
	if err != nil || page.Truncated || len(page.Events) != 1 || page.Events[0].ID.String() != first {
		t.Fatalf("after the old entry: %+v, %v; want %s without truncation", page, err, first)
	}
	if err := admin.Del(ctx, b.keys.last("legacy")).Err(); err != nil {
		t.Fatal(err)
	}
	second := publishN(t, b, "legacy", 2, 1)[0]
	page, err = b.History(ctx, "legacy", first, 10)
	if err != nil || page.Truncated || len(page.Events) != 1 || page.Events[0].ID.String() != second {
		t.Fatalf("after a lost last-id key: %+v, %v; want %s without truncation", page, err, second)
	}
	page, err = b.History(ctx, "legacy", "", 10)
	if err != nil || len(page.Events) != 3 || string(page.Events[0].JSON) != old {
		t.Fatalf("whole history: %d events, %v", len(page.Events), err)
	}
	for _, d := range page.Events[1:] {
		e, err := d.Decode()
		if err != nil || e.ID != d.ID.String() || e.Topic != "legacy" {
			t.Fatalf("new-form entry %s decodes to %+v, %v", d.JSON, e, err)
		}
	}
}

// TestFirstPublishOneRoundTrip: New loads the publish script, so a fresh
// bus's first publish (a cold Lambda's) is one round trip, not a NOSCRIPT
// answer, a SCRIPT LOAD and a second try.
func TestFirstPublishOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	b := newTestBus(t, srv, nil)
	publishN(t, b, "cold", 0, 1)
	if got := b.Stats().PublishPipelines; got != 1 {
		t.Fatalf("first publish took %d pipelines, want 1", got)
	}
}
