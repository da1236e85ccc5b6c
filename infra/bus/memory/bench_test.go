package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// countHandler is the cheapest handler that still does something: what a
// real one costs (a queue push) is on top.
type countHandler struct{ n int }

func (h *countHandler) Deliver(bus.Delivery) { h.n++ }
func (h *countHandler) Truncated(string)     {}

var benchData = json.RawMessage(`{"order":1042,"status":"shipped","carrier":"ups","eta":"2026-11-24T12:00:00Z"}`)

// BenchmarkPublish: one message per call to one topic with one subscriber
// (encode, id, ring append, dedup-free, one delivery).
func BenchmarkPublish(b *testing.B) {
	bb := New(bus.Options{})
	defer bb.Close()
	h := &countHandler{}
	sub, err := bb.Subscribe(context.Background(), []string{"order:1042"}, nil, h)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	msgs := []bus.Message{{Topic: "order:1042", Type: "order.shipped", Source: "shopify", Data: benchData}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bb.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishParallel: publishers on distinct topics contend only on
// the topic map's read lock.
func BenchmarkPublishParallel(b *testing.B) {
	bb := New(bus.Options{})
	defer bb.Close()
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		topic := fmt.Sprintf("order:%d", next.Add(1))
		msgs := []bus.Message{{Topic: topic, Type: "order.shipped", Data: benchData}}
		for pb.Next() {
			if _, err := bb.Publish(ctx, msgs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFanout: one publish to a topic with 1000 subscribers. The event
// is encoded once; each delivery passes the same bytes.
func BenchmarkFanout(b *testing.B) {
	const subscribers = 1000
	bb := New(bus.Options{})
	defer bb.Close()
	hs := make([]countHandler, subscribers)
	for i := range hs {
		sub, err := bb.Subscribe(context.Background(), []string{"room:lobby"}, nil, &hs[i])
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
	}
	msgs := []bus.Message{{Topic: "room:lobby", Type: "chat.message", Data: benchData}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bb.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/subscribers, "ns/delivery")
	for i := range hs {
		if hs[i].n != hs[0].n {
			b.Fatalf("subscriber %d got %d, subscriber 0 got %d", i, hs[i].n, hs[0].n)
		}
	}
}
