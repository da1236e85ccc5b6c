package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// newTestBus connects a Bus with a per-test key prefix to srv.
func newTestBus(t testing.TB, srv *redistest.Server, mod func(*Options)) *Bus {
	t.Helper()
	return newTestBusURL(t, srv.URL(), mod)
}

// newTestBusURL is newTestBus for a URL that is not a redistest server.
func newTestBusURL(t testing.TB, url string, mod func(*Options)) *Bus {
	t.Helper()
	return dialTestBus(t, testOptions(t, url), mod, 5*time.Second)
}

// testOptions are the Options every test bus starts from: a per-test key
// prefix, and timeouts short so a killed server is noticed and retried
// quickly.
func testOptions(t testing.TB, url string) Options {
	return Options{
		URL:          url,
		Prefix:       "t" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()),
		Logger:       slog.New(slog.DiscardHandler),
		DialTimeout:  500 * time.Millisecond,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		PingInterval: time.Second,
	}
}

// dialTestBus applies mod to o, connects within timeout and closes the Bus
// when the test ends.
func dialTestBus(t testing.TB, o Options, mod func(*Options), timeout time.Duration) *Bus {
	t.Helper()
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, err := New(ctx, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// recorder is a Handler that records everything, in order.
type recorder struct {
	mu     sync.Mutex
	got    []bus.Delivery
	events []string // "topic id" or "truncated topic"
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Deliver(d bus.Delivery) {
	r.mu.Lock()
	r.got = append(r.got, d)
	r.events = append(r.events, d.Topic+" "+d.ID.String())
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Truncated(topic string) {
	r.mu.Lock()
	r.events = append(r.events, "truncated "+topic)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() ([]bus.Delivery, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Delivery(nil), r.got...), append([]string(nil), r.events...)
}

// waitFor polls until r holds n deliveries or the deadline passes.
func (r *recorder) waitFor(t testing.TB, n int, within time.Duration) []bus.Delivery {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		got, _ := r.snapshot()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			_, ev := r.snapshot()
			t.Fatalf("got %d deliveries, want %d within %v; events: %v", len(got), n, within, ev)
		}
	}
}

func msg(topic string, i int) bus.Message {
	return bus.Message{Topic: topic, Type: "test.event", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

// publishN publishes n messages one by one and returns their ids.
func publishN(t testing.TB, b *Bus, topic string, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		out, err := b.Publish(context.Background(), []bus.Message{msg(topic, i)})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		ids = append(ids, out[0].Event.ID)
	}
	return ids
}

func deliveredIDs(ds []bus.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID.String()
	}
	return out
}
