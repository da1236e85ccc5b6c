package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// Benchmarks run against a local redis-server on loopback, so they measure
// the bus's own cost plus one round trip, not a network.

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublish: one message per call, as webhooks publish.
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	bs := newTestBus(b, srv, nil)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := bs.Publish(ctx, []bus.Message{msg("bench:pub", i)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
	reportScriptCost(b, bs)
}

// BenchmarkPublishBatch100: one pipelined batch of 100 per call.
// BenchmarkPublishParallel is 16 callers publishing one event each at
// once: their calls share round trips (batch.go). Publish/pipeline is the
// mean number of calls per round trip.
func BenchmarkPublishParallel(b *testing.B) {
	srv := redistest.Start(b)
	bs := newTestBus(b, srv, nil)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 16 callers on 2 cores
	start := bs.Stats().PublishPipelines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := bs.Publish(ctx, []bus.Message{msg(fmt.Sprint("bench:par:", n.Add(1)%4), 0)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
	b.ReportMetric(float64(b.N)/float64(max(bs.Stats().PublishPipelines-start, 1)), "publishes/pipeline")
	reportScriptCost(b, bs)
}

func BenchmarkPublishBatch100(b *testing.B) {
	srv := redistest.Start(b)
	bs := newTestBus(b, srv, nil)
	ctx := context.Background()
	msgs := make([]bus.Message, 100)
	for i := range msgs {
		msgs[i] = msg(fmt.Sprint("bench:batch:", i%10), i)
	}
	for b.Loop() {
		if _, err := bs.Publish(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	reportScriptCost(b, bs)
}

// reportScriptCost reports Redis's own time per published message inside
// the publish script (INFO commandstats, divided by the messages the bus
// published), which bounds one topic's publish rate: scripts run one at a
// time; and how many messages shared each script call (calls.go).
func reportScriptCost(b *testing.B, bs *Bus) {
	info, err := bs.client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	st := bs.Stats()
	msgs := float64(max(st.Published+st.Duplicates, 1))
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "cmdstat_evalsha:") {
			continue
		}
		for _, f := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "cmdstat_evalsha:")), ",") {
			if v, ok := strings.CutPrefix(f, "usec="); ok {
				us, _ := strconv.ParseFloat(v, 64) // a missing figure reports as 0
				b.ReportMetric(us/msgs, "redis-µs/publish")
			}
		}
	}
	b.ReportMetric(msgs/float64(max(st.PublishCalls, 1)), "publishes/call")
}

// BenchmarkPublishToDeliver: latency from Publish to the handler call of a
// subscriber on another Bus (another relay node).
func BenchmarkPublishToDeliver(b *testing.B) {
	srv := redistest.Start(b)
	pub := newTestBus(b, srv, nil)
	subBus := newTestBus(b, srv, nil)
	got := make(chan struct{}, 1)
	sub, err := subBus.Subscribe(context.Background(), []string{"bench:e2e"}, nil, signal(got))
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := pub.Publish(context.Background(), []bus.Message{msg("bench:e2e", i)}); err != nil {
			b.Fatal(err)
		}
		<-got
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

type signal chan struct{}

func (s signal) Deliver(bus.Delivery) { s <- struct{}{} }
func (s signal) Truncated(string)     {}

type counter struct{ n atomic.Int64 }

func (c *counter) Deliver(bus.Delivery) { c.n.Add(1) }
func (c *counter) Truncated(string)     {}

// BenchmarkFanout: 1000 local subscriptions on one topic (one SUBSCRIBE);
// reports handler calls per second through the dispatcher.
func BenchmarkFanout(b *testing.B) {
	const subs = 1000
	srv := redistest.Start(b)
	pub := newTestBus(b, srv, nil)
	subBus := newTestBus(b, srv, nil)
	cs := make([]*counter, subs)
	for i := range cs {
		cs[i] = &counter{}
		s, err := subBus.Subscribe(context.Background(), []string{"bench:fan"}, nil, cs[i])
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
	}
	msgs := make([]bus.Message, 100)
	for i := range msgs {
		msgs[i] = msg("bench:fan", i)
	}
	b.ResetTimer()
	sent := 0
	for b.Loop() {
		if _, err := pub.Publish(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
		sent += len(msgs)
	}
	deadline := time.Now().Add(time.Minute)
	for cs[subs-1].n.Load() < int64(sent) || cs[0].n.Load() < int64(sent) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", cs[0].n.Load(), sent)
		}
		time.Sleep(time.Millisecond) // benchmark drain, not a test wait
	}
	b.StopTimer()
	b.ReportMetric(float64(sent*subs)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSubscribeReplay: clients resuming from a cursor 10 events back,
// 8 at a time (a reconnect storm after a relay restart). Replays are read
// on the dispatcher goroutine, so this is the rate a node can take them.
func BenchmarkSubscribeReplay(b *testing.B) {
	srv := redistest.Start(b)
	bs := newTestBus(b, srv, nil)
	ids := publishN(b, bs, "bench:replay", 0, 20)
	from, err := event.ParseID(ids[9])
	if err != nil {
		b.Fatal(err)
	}
	keep, err := bs.Subscribe(context.Background(), []string{"bench:replay"}, nil, &counter{})
	if err != nil {
		b.Fatal(err)
	}
	defer keep.Close()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := &counter{}
			s, err := bs.Subscribe(context.Background(), []string{"bench:replay"}, event.Cursor{{Topic: "bench:replay", ID: from}}, c)
			if err != nil {
				b.Error(err)
				return
			}
			if c.n.Load() != 10 {
				b.Errorf("replayed %d, want 10", c.n.Load())
			}
			s.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "subscribes/s")
}

// BenchmarkSubscribeNewTopics: every Subscribe is for a topic this node has
// not subscribed yet (one browser per order page): SUBSCRIBE, confirmation,
// settle and replay for each, 8 callers at a time.
func BenchmarkSubscribeNewTopics(b *testing.B) {
	srv := redistest.Start(b)
	bs := newTestBus(b, srv, nil)
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			topic := fmt.Sprint("bench:new:", n.Add(1))
			s, err := bs.Subscribe(context.Background(), []string{topic}, event.Cursor{{Topic: topic}}, &counter{})
			if err != nil {
				b.Error(err)
				return
			}
			s.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "subscribes/s")
}
