package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/event"
)

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T, opts bus.Options) bus.Bus {
		b := New(opts)
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return b
	})
}

func TestSubscribedTopicsReleased(t *testing.T) {
	b := New(bus.Options{})
	defer b.Close()
	c := bustest.NewCollector()
	s1, err := b.Subscribe(context.Background(), []string{"a", "b", "a"}, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.Subscribe(context.Background(), []string{"b"}, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.SubscribedTopics(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("subscribed %v", got)
	}
	// A topic listed twice is subscribed once: one publish, one delivery.
	publish(t, b, bus.Message{Topic: "a", Type: "t"})
	if n := c.Len(); n != 1 {
		t.Fatalf("%d deliveries for one event", n)
	}
	s1.Close()
	if got := b.SubscribedTopics(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after closing s1: subscribed %v", got)
	}
	s2.Close()
	if got := b.SubscribedTopics(); len(got) != 0 {
		t.Fatalf("after closing all: subscribed %v", got)
	}
	// b held only subscribers, so it is forgotten; a keeps its event.
	if _, ok := b.topics["b"]; ok || len(b.topics) != 1 {
		t.Fatalf("topics kept: %d", len(b.topics))
	}
}

// clock is a settable time source for the TTL tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClocked(opts bus.Options) (*Bus, *clock) {
	clk := &clock{now: time.UnixMilli(1_700_000_000_000)}
	b := New(opts)
	b.now = clk.Now
	return b, clk
}

func publish(t *testing.T, b *Bus, m bus.Message) bus.Published {
	t.Helper()
	ps, err := b.Publish(context.Background(), []bus.Message{m})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func TestHistoryTTL(t *testing.T) {
	ctx := context.Background()
	b, clk := newClocked(bus.Options{HistoryTTL: time.Hour})
	defer b.Close()
	p := publish(t, b, bus.Message{Topic: "ttl", Type: "t"})
	publish(t, b, bus.Message{Topic: "ttl", Type: "t"})
	clk.Add(59 * time.Minute)
	if page, _ := b.History(ctx, "ttl", "", 10); len(page.Events) != 2 {
		t.Fatalf("before the TTL: %d events", len(page.Events))
	}
	clk.Add(time.Minute)
	page, err := b.History(ctx, "ttl", "", 10)
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("after the TTL: %d events, %v", len(page.Events), err)
	}
	if len(b.topics) != 0 {
		t.Fatal("expired topic still held")
	}
	// A subscriber resuming from before the expiry learns that events are
	// gone once new ones arrive.
	c := bustest.NewCollector()
	sub, err := b.Subscribe(ctx, []string{"ttl"}, event.Cursor{{Topic: "ttl", ID: mustParse(t, p.Event.ID)}}, c)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	publish(t, b, bus.Message{Topic: "ttl", Type: "t"})
	c2 := bustest.NewCollector()
	sub2, err := b.Subscribe(ctx, []string{"ttl"}, event.Cursor{{Topic: "ttl", ID: mustParse(t, p.Event.ID)}}, c2)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	for _, c := range []*bustest.Collector{c, c2} {
		if tr := c.Truncations(); !slices.Equal(tr, []string{"ttl"}) || c.Len() != 1 || !c.Log()[0].Truncated {
			t.Fatalf("resume across expiry: log %+v", c.Log())
		}
	}
}

func TestSweepForgetsUntouchedTopics(t *testing.T) {
	b, clk := newClocked(bus.Options{HistoryTTL: time.Minute, DedupTTL: time.Minute})
	defer b.Close()
	for i := range 50 {
		publish(t, b, bus.Message{Topic: fmt.Sprintf("old:%d", i), Type: "t", IdempotencyKey: "k"})
	}
	if err := b.SetRead(context.Background(), "r", "old:0", "1-0"); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	publish(t, b, bus.Message{Topic: "new", Type: "t"}) // triggers the sweep
	if len(b.topics) != 1 {
		t.Fatalf("%d topics held after the sweep, want 1", len(b.topics))
	}
}

func TestDedupTTL(t *testing.T) {
	b, clk := newClocked(bus.Options{DedupTTL: time.Minute})
	defer b.Close()
	m := bus.Message{Topic: "d", Type: "t", IdempotencyKey: "k"}
	p1 := publish(t, b, m)
	clk.Add(59 * time.Second)
	if p := publish(t, b, m); !p.Duplicate || p.Event.ID != p1.Event.ID {
		t.Fatalf("within the TTL: %+v", p)
	}
	clk.Add(time.Second)
	if p := publish(t, b, m); p.Duplicate || p.Event.ID == p1.Event.ID {
		t.Fatalf("after the TTL: %+v", p)
	}
	if p := publish(t, b, m); !p.Duplicate {
		t.Fatalf("the new key is remembered: %+v", p)
	}
}

func TestReadCursorTTL(t *testing.T) {
	ctx := context.Background()
	b, clk := newClocked(bus.Options{HistoryTTL: time.Hour})
	defer b.Close()
	p := publish(t, b, bus.Message{Topic: "r", Type: "t"})
	if err := b.SetRead(ctx, "ann", "r", p.Event.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Minute)
	publish(t, b, bus.Message{Topic: "r", Type: "t"}) // keeps history alive
	clk.Add(30 * time.Minute)
	u, err := b.Unread(ctx, "ann", "r")
	if err != nil || u.ReadID != "" || u.Count != 2 {
		t.Fatalf("after the read cursor's TTL: %+v, %v", u, err)
	}
}

func TestClockStepsBack(t *testing.T) {
	b, clk := newClocked(bus.Options{})
	defer b.Close()
	p1 := publish(t, b, bus.Message{Topic: "c", Type: "t"})
	clk.Add(-time.Hour)
	p2 := publish(t, b, bus.Message{Topic: "c", Type: "t"})
	clk.Add(2 * time.Hour)
	p3 := publish(t, b, bus.Message{Topic: "c", Type: "t"})
	id1, id2, id3 := mustParse(t, p1.Event.ID), mustParse(t, p2.Event.ID), mustParse(t, p3.Event.ID)
	if id2 != (event.ID{MS: id1.MS, Seq: 1}) || id3.Compare(id2) <= 0 || id3.Seq != 0 {
		t.Fatalf("ids %v %v %v", id1, id2, id3)
	}
}

// blockingHandler holds its first Deliver until released, to show that
// Subscription.Close waits for a handler call in progress.
type blockingHandler struct {
	entered, release chan struct{}
	finished         atomic.Bool
}

func (h *blockingHandler) Deliver(bus.Delivery) {
	if h.finished.Load() {
		return
	}
	close(h.entered)
	<-h.release
	h.finished.Store(true)
}

func (h *blockingHandler) Truncated(string) {}

func TestCloseWaitsForHandler(t *testing.T) {
	b := New(bus.Options{})
	defer b.Close()
	h := &blockingHandler{entered: make(chan struct{}), release: make(chan struct{})}
	sub, err := b.Subscribe(context.Background(), []string{"slow"}, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		if _, err := b.Publish(context.Background(), []bus.Message{{Topic: "slow", Type: "t"}}); err != nil {
			t.Error(err)
		}
	}()
	<-h.entered
	closed := make(chan bool)
	go func() {
		sub.Close()
		closed <- h.finished.Load()
	}()
	close(h.release)
	if !<-closed {
		t.Fatal("Close returned while the handler was still running")
	}
	<-published
}

func TestDataOf(t *testing.T) {
	cases := map[string]string{
		`{"id":"1-0","topic":"a","type":"t","time":"x","data":{"data":1}}`:                  `{"data":1}`,
		`{"id":"1-0","topic":"a","type":"data","time":"x","source":"\"data\":","data":[1]}`: `[1]`,
		`{"id":"1-0","topic":"a","type":"t","time":"x","source":"s\\","data":"data"}`:       `"data"`,
	}
	for in, want := range cases {
		if got := string(bus.DataOf([]byte(in))); got != want {
			t.Errorf("bus.DataOf(%s) = %s, want %s", in, got, want)
		}
	}
	// The published event's data is the delivered data.
	b := New(bus.Options{})
	defer b.Close()
	p := publish(t, b, bus.Message{Topic: "a", Type: "data", Source: `"data":`, Data: json.RawMessage(` { "x" : [1, 2] } `)})
	if string(p.Event.Data) != `{"x":[1,2]}` {
		t.Fatalf("published data %s", p.Event.Data)
	}
}

func mustParse(t *testing.T, s string) event.ID {
	t.Helper()
	id, err := event.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// FuzzDataOf: the data the bus hands back in Published is exactly the data
// of the delivered JSON, whatever the strings before it contain.
func FuzzDataOf(f *testing.F) {
	f.Add("data", `"data":`, []byte(`{"data":{"data":1}}`))
	f.Add("t", "", []byte(`"x\"data\":"`))
	f.Fuzz(func(t *testing.T, typ, source string, data []byte) {
		body, err := bus.EncodeBody(bus.Message{Topic: "a", Type: typ, Source: source, Data: data}, time.Unix(0, 0), 0)
		if err != nil {
			return
		}
		full := bus.AttachID(body, event.ID{MS: 1, Seq: 2})
		var e event.Event
		if err := json.Unmarshal(full, &e); err != nil {
			t.Fatal(err)
		}
		if got := bus.DataOf(full); string(got) != string(e.Data) {
			t.Fatalf("DataOf = %s, want %s (event %s)", got, e.Data, full)
		}
	})
}

// closeFlagHandler fails the test if it is called after its subscription's
// Close returned.
type closeFlagHandler struct {
	t      *testing.T
	closed atomic.Bool
}

func (h *closeFlagHandler) Deliver(bus.Delivery) {
	if h.closed.Load() {
		h.t.Error("Deliver after Close returned")
	}
}

func (h *closeFlagHandler) Truncated(string) {}

func TestCloseRacesPublish(t *testing.T) {
	b := New(bus.Options{HistoryLen: 50})
	defer b.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := bus.Message{Topic: fmt.Sprintf("hot:%d", i%3), Type: "t"}
				if _, err := b.Publish(ctx, []bus.Message{m}); err != nil {
					t.Errorf("publisher %d: %v", g, err)
					return
				}
			}
		})
	}
	for range 300 {
		h := &closeFlagHandler{t: t}
		last := event.Cursor{{Topic: "hot:0", ID: event.ID{}}}
		sub, err := b.Subscribe(ctx, []string{"hot:0", "hot:1", "hot:2"}, last, h)
		if err != nil {
			t.Fatal(err)
		}
		sub.Close()
		h.closed.Store(true)
	}
	close(stop)
	wg.Wait()
	if got := b.SubscribedTopics(); len(got) != 0 {
		t.Fatalf("subscriptions left: %v", got)
	}
}
