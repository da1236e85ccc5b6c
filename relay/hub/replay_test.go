package hub_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// subscribeProbe is a real bus that samples, when the hub subscribes to
// it (replay is over), how many events the peer had taken.
type subscribeProbe struct {
	bus.Bus
	written   func() int64
	atSubject atomic.Int64
}

func (b *subscribeProbe) Subscribe(ctx context.Context, topics []string, from event.Cursor, h bus.Handler) (bus.Subscription, error) {
	b.atSubject.Store(b.written())
	return b.Bus.Subscribe(ctx, topics, from, h)
}

// H2 (security review 2026-12): a replay to a peer that does not read must
// cost at most two pages, and pages are bounded in bytes. With 10 KiB
// events and a 40 KiB page (3 events), the replay stays paced by the peer
// until the history is done: when the hub subscribes to the bus, the peer
// has taken all but the last pages. A short page used to end the paced
// replay at once, and bus.Subscribe then replayed the rest unpaced into the
// queue of a peer that had taken nothing.
func TestReplayToNonReaderHoldsTwoPages(t *testing.T) {
	mem := memory.New(bus.Options{HistoryLen: 100, HistoryPageBytes: 40 << 10})
	s := newSink()
	s.gate = make(chan struct{})
	s.want = 20
	b := &subscribeProbe{Bus: mem, written: s.n.Load}
	h := hub.New(b, hub.Options{})
	t.Cleanup(func() { h.Close(); mem.Close() })
	msgs := make([]bus.Message, 20)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: "a", Type: "t", Data: json.RawMessage(`"` + strings.Repeat("x", 10<<10) + `"`)}
	}
	pub, err := mem.Publish(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Admit("test", s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Resolve(context.Background(), []string{"a"}, event.Cursor{{Topic: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Subscribe(context.Background(), p, nil) }()
	select {
	case <-s.atGate:
	case <-time.After(10 * time.Second):
		close(s.gate)
		t.Fatal("the writer never took the first page")
	}
	close(s.gate)
	select {
	case <-s.reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("replayed %d of 20", s.n.Load())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := b.atSubject.Load(); n < 20-2*3 {
		t.Fatalf("the hub subscribed to the bus when the peer had taken %d of 20 events: the replay stopped pacing", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pb := range pub {
		if want := "a/" + pb.Event.ID; s.events[i] != want {
			t.Fatalf("event %d = %s; want %s", i, s.events[i], want)
		}
	}
}
