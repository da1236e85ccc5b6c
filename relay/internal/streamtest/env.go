// Package streamtest holds the test harness shared by the relay's two
// streaming transports (relay/sse and relay/ws): a relay node on a memory bus
// behind a real HTTP server, a recorder for a relay/client.Subscriber, and the
// scenarios both transports must pass. It takes the transport's handler as a
// constructor so it imports neither transport package.
package streamtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// Env is one relay node (hub + transport handler) on a memory bus, behind a
// real HTTP server. The node can be swapped to simulate the load balancer
// sending reconnects to another node.
type Env struct {
	Bus  bus.Bus
	Hub  *hub.Hub
	Reg  *prometheus.Registry
	Srv  *httptest.Server
	node atomic.Pointer[http.Handler]
}

// NewEnv starts a node built by handler on a fresh memory bus; everything is
// closed when the test ends.
func NewEnv(t testing.TB, ho hub.Options, handler func(*hub.Hub) http.Handler) *Env {
	t.Helper()
	e := &Env{Bus: memory.New(bus.Options{HistoryLen: 2000}), Reg: prometheus.NewRegistry()}
	e.Hub, _ = e.NewNode(ho, handler)
	e.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.Node().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.Srv.Close()
		e.Hub.Close()
		e.Bus.Close()
	})
	return e
}

// NewNode starts a hub + handler on e's bus and routes new requests to it.
// Its metrics go to e.Reg unless ho names a Registerer.
func (e *Env) NewNode(ho hub.Options, handler func(*hub.Hub) http.Handler) (*hub.Hub, http.Handler) {
	if ho.Registerer == nil {
		ho.Registerer = e.Reg
	}
	h := hub.New(e.Bus, ho)
	hd := handler(h)
	e.node.Store(&hd)
	return h, hd
}

// Node is the handler new requests currently go to.
func (e *Env) Node() http.Handler { return *e.node.Load() }

// Publish publishes n events with data on topic and returns their ids as
// "topic/id", the form a Recorder collects.
func (e *Env) Publish(t testing.TB, topic string, n int, data string) []string {
	t.Helper()
	msgs := make([]bus.Message, n)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: topic, Type: "test.event", Data: json.RawMessage(data)}
	}
	pub, err := e.Bus.Publish(context.Background(), msgs)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	ids := make([]string, len(pub))
	for i, p := range pub {
		ids[i] = topic + "/" + p.Event.ID
	}
	return ids
}

// MeasureFanout is the timed part of a transport's fan-out benchmark: once
// n subscribers have signalled ready, each op publishes one event to topic
// and waits on reached, which the subscribers' readers signal when the
// deliveries they count reach *target. It reports deliveries/s.
func (e *Env) MeasureFanout(b *testing.B, n int, topic string, ready, reached <-chan struct{}, target *atomic.Int64) {
	b.Helper()
	for range n {
		<-ready
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		target.Store(int64(n) * int64(i+1))
		e.Publish(b, topic, 1, `{"n":1}`)
		<-reached
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// Metric returns the value of a counter or gauge in e.Reg (0 if absent).
func (e *Env) Metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := e.Reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					ok = true
				}
			}
			if ok {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// GrantsAuth authenticates every request with a fixed set of grants.
type GrantsAuth struct{ G auth.Grants }

// Authenticate returns a copy of a.G.
func (a GrantsAuth) Authenticate(context.Context, *http.Request) (*auth.Grants, error) {
	g := a.G
	return &g, nil
}

// WaitFor polls cond until it holds or 10 s pass.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
