package hub_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// countSink counts events written, advancing each client's cursor as a
// transport does, and signals when the total reaches a target.
type countSink struct {
	total, target *atomic.Int64
	reached       chan struct{}
}

func (s countSink) Write(c *hub.Client, items []hub.Item) error {
	k := int64(0)
	for i := range items {
		if items[i].Kind == hub.KindEvent {
			c.Advance(&items[i])
			k++
		}
	}
	if k == 0 {
		return nil
	}
	n := s.total.Add(k)
	if t := s.target.Load(); n >= t && n-k < t {
		s.reached <- struct{}{}
	}
	return nil
}

func (countSink) Stalled() bool { return false }

func (countSink) Flush() error { return nil }

func (countSink) Close(*hub.Client, hub.Reason) {}

// BenchmarkFanout publishes one event to N local subscribers of a topic per
// op and waits until every subscriber's writer has taken it: the hub and
// memory-bus cost of a delivery, without socket writes (relay/sse has the
// same over real sockets).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			bb, h := setup(b, hub.Options{})
			var total, target atomic.Int64
			s := countSink{total: &total, target: &target, reached: make(chan struct{}, 1)}
			for range n {
				subscribe(b, h, s, []string{"fan:1"}, nil)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				target.Store(int64(n) * int64(i+1))
				publish(b, bb, "fan:1", 1)
				<-s.reached
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(n), "clients")
		})
	}
}
