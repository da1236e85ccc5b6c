package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// sink records what the hub writes. With gate set, Write blocks until the
// gate is closed: a peer that stopped reading.
type sink struct {
	gate   chan struct{}
	atGate chan struct{} // signalled when a Write starts waiting at the gate
	mu     sync.Mutex
	events []string
	beats  int
	ready  int
	n      atomic.Int64
	closed chan hub.Reason
	// want, when set, is signalled once n events were written.
	want    int64
	reached chan struct{}
}

func newSink() *sink {
	return &sink{closed: make(chan hub.Reason, 1), reached: make(chan struct{}, 1), atGate: make(chan struct{}, 1)}
}

func (s *sink) Write(c *hub.Client, items []hub.Item) error {
	if s.gate != nil {
		select {
		case s.atGate <- struct{}{}:
		default:
		}
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range items {
		it := &items[i]
		switch it.Kind {
		case hub.KindEvent:
			c.Advance(it)
			s.events = append(s.events, it.Topic+"/"+it.ID.String())
			if s.n.Add(1) == s.want {
				s.reached <- struct{}{}
			}
		case hub.KindBeat:
			s.beats++
		case hub.KindReady:
			s.ready++
		}
	}
	return nil
}

// Stalled: a gated sink waits in Write, so it must not be written on a
// shared writer.
func (s *sink) Stalled() bool { return s.gate != nil }

func (s *sink) Flush() error { return nil }

func (s *sink) Close(_ *hub.Client, r hub.Reason) { s.closed <- r }

func (s *sink) waitClosed(t *testing.T) hub.Reason {
	t.Helper()
	select {
	case r := <-s.closed:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("client not closed")
		return 0
	}
}

func publish(t testing.TB, b bus.Bus, topic string, n int) []string {
	t.Helper()
	msgs := make([]bus.Message, n)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: topic, Type: "t", Data: json.RawMessage(`{}`)}
	}
	pub, err := b.Publish(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, p := range pub {
		ids[i] = topic + "/" + p.Event.ID
	}
	return ids
}

func setup(t testing.TB, o hub.Options) (*memory.Bus, *hub.Hub) {
	b := memory.New(bus.Options{HistoryLen: 5000})
	h := hub.New(b, o)
	t.Cleanup(func() {
		h.Close()
		b.Close()
	})
	return b, h
}

func subscribe(t testing.TB, h *hub.Hub, s hub.Sink, topics []string, from event.Cursor) *hub.Client {
	t.Helper()
	c, err := h.Admit("test", s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Resolve(context.Background(), topics, from)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQueueOverflowKicksSlowConsumer(t *testing.T) {
	b, h := setup(t, hub.Options{QueueSize: 3})
	s := newSink()
	s.gate = make(chan struct{})
	subscribe(t, h, s, []string{"a"}, nil)
	// The ready item holds the writer at the gate; three events fit, the
	// fourth overflows.
	select {
	case <-s.atGate:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never took the ready item")
	}
	publish(t, b, "a", 4)
	close(s.gate)
	if r := s.waitClosed(t); r != hub.ReasonSlowConsumer || r.Code() != 4008 {
		t.Fatalf("closed with %v (%d), want slow consumer 4008", r, r.Code())
	}
	if len(s.events) != 0 {
		t.Fatalf("wrote %v after the kick; a kicked client's queue is dropped", s.events)
	}
	waitFor(t, func() bool { return h.Connections() == 0 && len(b.SubscribedTopics()) == 0 })
}

// TestReplayIsPacedNotKicked: a replay far larger than the queue is sent
// page by page and does not count as slowness.
func TestReplayIsPacedNotKicked(t *testing.T) {
	b, h := setup(t, hub.Options{QueueSize: 2})
	want := publish(t, b, "a", 1000)
	s := newSink()
	s.want = 1000
	subscribe(t, h, s, []string{"a"}, event.Cursor{{Topic: "a"}})
	select {
	case <-s.reached:
	case r := <-s.closed:
		t.Fatalf("closed (%v) during replay", r)
	case <-time.After(10 * time.Second):
		t.Fatalf("replayed %d of 1000", s.n.Load())
	}
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ready == 1
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if fmt.Sprint(s.events) != fmt.Sprint(want) || s.ready != 1 {
		t.Fatalf("replay differs (%d events, %d ready)", len(s.events), s.ready)
	}
}

func TestMaxConnections(t *testing.T) {
	_, h := setup(t, hub.Options{MaxConnections: 2})
	c1, _ := h.Admit("test", newSink())
	if _, err := h.Admit("test", newSink()); err != nil {
		t.Fatal(err)
	}
	if !h.OverCapacity() {
		t.Fatal("not over capacity at the limit")
	}
	if _, err := h.Admit("test", newSink()); !errors.Is(err, hub.ErrOverCapacity) {
		t.Fatalf("third admit: %v", err)
	}
	c1.Close()
	<-c1.Done()
	if _, err := h.Admit("test", newSink()); err != nil {
		t.Fatalf("admit after a close: %v", err)
	}
}

func TestDrainStaggersAndRefuses(t *testing.T) {
	b, h := setup(t, hub.Options{})
	var sinks []*sink
	for range 20 {
		s := newSink()
		subscribe(t, h, s, []string{"a"}, nil)
		sinks = append(sinks, s)
	}
	start := time.Now()
	h.Drain(context.Background(), 200*time.Millisecond)
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("drain took %v, want it spread over ~200ms", took)
	}
	for _, s := range sinks {
		if r := s.waitClosed(t); r != hub.ReasonDrain || r.Code() != 1012 {
			t.Fatalf("closed with %v", r)
		}
	}
	if h.Connections() != 0 || len(b.SubscribedTopics()) != 0 {
		t.Fatalf("%d connections, bus topics %v after drain", h.Connections(), b.SubscribedTopics())
	}
	if _, err := h.Admit("test", newSink()); !errors.Is(err, hub.ErrDraining) {
		t.Fatalf("admit while draining: %v", err)
	}
}

func TestDrainEndsEarlyWithContext(t *testing.T) {
	_, h := setup(t, hub.Options{})
	var sinks []*sink
	for range 10 {
		s := newSink()
		subscribe(t, h, s, []string{"a"}, nil)
		sinks = append(sinks, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	h.Drain(ctx, time.Hour)
	if time.Since(start) > 5*time.Second {
		t.Fatal("drain ignored its context")
	}
	for _, s := range sinks {
		if r := s.waitClosed(t); r != hub.ReasonDrain {
			t.Fatalf("closed with %v", r)
		}
	}
}

func TestHeartbeatAndExpiry(t *testing.T) {
	_, h := setup(t, hub.Options{})
	s := newSink()
	c := subscribe(t, h, s, []string{"a"}, nil)
	c.SetHeartbeat(10 * time.Millisecond)
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.beats >= 3
	})
	c.SetExpiry(time.Now().Add(30 * time.Millisecond))
	if r := s.waitClosed(t); r != hub.ReasonTokenExpired || r.Code() != 4001 {
		t.Fatalf("closed with %v", r)
	}
}

func TestUnsubscribeReleasesBusSubscription(t *testing.T) {
	b, h := setup(t, hub.Options{MaxTopics: 2})
	s := newSink()
	c := subscribe(t, h, s, []string{"a", "b"}, nil)
	if p, err := c.Resolve(context.Background(), []string{"c"}, nil); err == nil {
		err = c.Subscribe(context.Background(), p, nil)
		if !errors.Is(err, hub.ErrTooManyTopics) {
			t.Fatalf("third topic: %v", err)
		}
	} else if !errors.Is(err, hub.ErrTooManyTopics) {
		t.Fatalf("third topic: %v", err)
	}
	if got := c.Unsubscribe([]string{"a", "x"}); fmt.Sprint(got) != "[a]" {
		t.Fatalf("removed %v", got)
	}
	c.Unsubscribe([]string{"b"})
	waitFor(t, func() bool { return len(b.SubscribedTopics()) == 0 })
	if fmt.Sprint(c.Topics()) != "[]" {
		t.Fatalf("topics %v", c.Topics())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		<-tick.C
	}
}
