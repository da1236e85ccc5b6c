package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// NewBus returns a fresh, empty bus for one subtest, built with opts (zero
// fields mean the defaults; subtests set HistoryLen, MaxEventBytes, ...). It
// closes the bus itself with t.Cleanup. Fresh means no events, dedup keys or
// read cursors from other subtests are visible (Redis: a unique key prefix
// or a fresh server per call).
type NewBus func(t *testing.T, opts bus.Options) bus.Bus

// Waiting bounds every wait for deliveries in the suite.
const Waiting = 10 * time.Second

// Run runs the conformance suite against the bus newBus builds. Every Bus
// implementation calls it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, func(t *testing.T, opts bus.Options) bus.Bus { ... })
//	}
//
// newBus takes Options (not only t) because truncation, size limits and
// unread caps can only be exercised with small bounds.
func Run(t *testing.T, newBus func(t *testing.T, opts bus.Options) bus.Bus) {
	nb := NewBus(newBus)
	tests := []struct {
		name string
		fn   func(*testing.T, NewBus)
	}{
		{"OrderPerTopic", testOrderPerTopic},
		{"IDs", testIDs},
		{"MultiTopic", testMultiTopic},
		{"Resume", testResume},
		{"ResumeTruncated", testResumeTruncated},
		{"ResumeLostHistory", testResumeLostHistory},
		{"Dedup", testDedup},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"Unsubscribe", testUnsubscribe},
		{"ContextCancelled", testContextCancelled},
		{"History", testHistory},
		{"HistoryPageBytes", testHistoryPageBytes},
		{"ReadCursors", testReadCursors},
		{"UnreadCapped", testUnreadCapped},
		{"Invalid", testInvalid},
		{"PublishWhileSubscribing", testPublishWhileSubscribing},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, nb) })
	}
}

// msg is the suite's standard message: data {"i": i}.
func msg(topic string, i int) bus.Message {
	return bus.Message{Topic: topic, Type: "test.event", Source: "bustest", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
}

// publishN publishes n messages to topic (data i = from..from+n-1) in
// batches of up to 100 and returns their ids in order.
func publishN(t *testing.T, b bus.Bus, topic string, from, n int) []event.ID {
	t.Helper()
	ids := make([]event.ID, 0, n)
	for n > 0 {
		k := min(n, 100)
		msgs := make([]bus.Message, k)
		for j := range msgs {
			msgs[j] = msg(topic, from+j)
		}
		ps, err := b.Publish(context.Background(), msgs)
		if err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
		if len(ps) != k {
			t.Fatalf("publish to %s: %d results for %d messages", topic, len(ps), k)
		}
		for _, p := range ps {
			ids = append(ids, mustID(t, p.Event.ID))
		}
		from += k
		n -= k
	}
	return ids
}

func mustID(t *testing.T, s string) event.ID {
	t.Helper()
	id, err := event.ParseID(s)
	if err != nil {
		t.Fatalf("bus returned id %q: %v", s, err)
	}
	return id
}

func subscribe(t *testing.T, b bus.Bus, topics []string, from event.Cursor) (*Collector, bus.Subscription) {
	t.Helper()
	c := NewCollector()
	sub, err := b.Subscribe(context.Background(), topics, from, c)
	if err != nil {
		t.Fatalf("subscribe %v from %q: %v", topics, from.String(), err)
	}
	t.Cleanup(sub.Close)
	return c, sub
}

func wait(t *testing.T, c *Collector, n int) []bus.Delivery {
	t.Helper()
	ds, err := c.Wait(n, Waiting)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// dataI decodes a delivery and returns its data's i.
func dataI(t *testing.T, d bus.Delivery) int {
	t.Helper()
	e, err := d.Decode()
	if err != nil {
		t.Fatalf("delivery %s: %v: %s", d.ID, err, d.JSON)
	}
	if e.ID != d.ID.String() || e.Topic != d.Topic {
		t.Fatalf("delivery %s/%s carries event %s/%s", d.Topic, d.ID, e.Topic, e.ID)
	}
	var v struct{ I int }
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("delivery %s data: %v: %s", d.ID, err, e.Data)
	}
	return v.I
}

func deliveredIDs(ds []bus.Delivery) []event.ID {
	ids := make([]event.ID, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func sameIDs(t *testing.T, what string, got, want []event.ID) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d ids %v, want %d %v", what, len(got), short(got), len(want), short(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: id %d is %v, want %v (got %v)", what, i, got[i], want[i], short(got))
		}
	}
}

func short(ids []event.ID) []event.ID {
	if len(ids) > 12 {
		return append(append([]event.ID(nil), ids[:6]...), ids[len(ids)-6:]...)
	}
	return ids
}

func increasing(t *testing.T, what string, ids []event.ID) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if ids[i].Compare(ids[i-1]) <= 0 {
			t.Fatalf("%s: id %v at %d does not follow %v", what, ids[i], i, ids[i-1])
		}
	}
}

func byTopic(ds []bus.Delivery) map[string][]bus.Delivery {
	m := make(map[string][]bus.Delivery)
	for _, d := range ds {
		m[d.Topic] = append(m[d.Topic], d)
	}
	return m
}
