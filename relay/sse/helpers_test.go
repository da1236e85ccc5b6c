package sse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// env is one relay node (hub + SSE handler) on a memory bus, behind a real
// HTTP server. node can be swapped to simulate the load balancer sending
// reconnects to another node.
type env struct {
	bus  bus.Bus
	hub  *hub.Hub
	reg  *prometheus.Registry
	srv  *httptest.Server
	node atomic.Pointer[http.Handler]
}

func newEnv(t testing.TB, ho hub.Options, so sse.Options) *env {
	t.Helper()
	e := &env{bus: memory.New(bus.Options{HistoryLen: 2000}), reg: prometheus.NewRegistry()}
	e.hub, _ = e.newNode(ho, so)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.node.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.srv.Close()
		e.hub.Close()
		e.bus.Close()
	})
	return e
}

// newNode starts a hub + handler on e's bus and routes new requests to it.
func (e *env) newNode(ho hub.Options, so sse.Options) (*hub.Hub, http.Handler) {
	if ho.Registerer == nil {
		ho.Registerer = e.reg
	}
	if so.Auth == nil {
		so.Auth = auth.AllowAll{}
	}
	h := hub.New(e.bus, ho)
	var hd http.Handler = sse.NewHandler(h, so)
	e.node.Store(&hd)
	return h, hd
}

func (e *env) publish(t testing.TB, topic string, n int, data string) []string {
	t.Helper()
	msgs := make([]bus.Message, n)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: topic, Type: "test.event", Data: json.RawMessage(data)}
	}
	pub, err := e.bus.Publish(context.Background(), msgs)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	ids := make([]string, len(pub))
	for i, p := range pub {
		ids[i] = topic + "/" + p.Event.ID
	}
	return ids
}

// metric returns the value of a counter or gauge in e.reg.
func (e *env) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
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

// recorder collects what a client.Subscriber reports.
type recorder struct {
	mu        sync.Mutex
	ids       []string
	closes    []int
	truncated []string
	opens     int
	got       chan struct{}
	opened    chan struct{}
	closed    chan int
	// gate, when set, blocks OnEvent (a consumer that stopped reading).
	gate chan struct{}
	// timeout bounds wait; 0 means 10 s.
	timeout time.Duration
}

func newRecorder() *recorder {
	return &recorder{got: make(chan struct{}, 1<<16), opened: make(chan struct{}, 64), closed: make(chan int, 64)}
}

func (r *recorder) options(o client.Options) client.Options {
	o.OnEvent = func(ev client.Event) {
		if r.gate != nil {
			<-r.gate
		}
		r.mu.Lock()
		r.ids = append(r.ids, ev.Topic+"/"+ev.ID)
		r.mu.Unlock()
		r.got <- struct{}{}
	}
	o.OnTruncated = func(topic string) {
		r.mu.Lock()
		r.truncated = append(r.truncated, topic)
		r.mu.Unlock()
	}
	o.OnState = func(s client.State, err error) {
		switch s {
		case client.Open:
			r.mu.Lock()
			r.opens++
			r.mu.Unlock()
			select {
			case r.opened <- struct{}{}:
			default: // nobody waits for the 64th reconnect; never block the client
			}
		case client.Closed:
			var c *client.Close
			if errors.As(err, &c) {
				r.mu.Lock()
				r.closes = append(r.closes, c.Code)
				r.mu.Unlock()
				select {
				case r.closed <- c.Code:
				default:
				}
			}
		}
	}
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 20*time.Millisecond
	return o
}

// run starts a subscriber; stop (also run at the end of the test) stops it
// and waits for it, after which its Cursor may be read.
func (r *recorder) run(t *testing.T, o client.Options) (*client.Subscriber, func()) {
	t.Helper()
	s, err := client.New(r.options(o))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx) // ends with ctx.Err() when the test stops it
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if r.gate != nil {
				select {
				case <-r.gate:
				default:
					close(r.gate)
				}
			}
			<-done
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func (r *recorder) waitOpen(t *testing.T) {
	t.Helper()
	select {
	case <-r.opened:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber did not open")
	}
}

func (r *recorder) waitClose(t *testing.T) int {
	t.Helper()
	select {
	case c := <-r.closed:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no close from the relay")
		return 0
	}
}

// wait waits for n more events and returns all received so far.
func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	timeout := r.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	deadline := time.After(timeout)
	for i := 0; i < n; i++ {
		select {
		case <-r.got:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("got %d of %d events (have %d in all; %d opens, closes %v, last %v)", i, n, len(r.ids), r.opens, r.closes, r.ids[max(0, len(r.ids)-3):])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// sameEvents fails unless got is exactly want (order per topic kept,
// nothing lost, nothing twice).
func sameEvents(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("events differ:\n got %d %v\nwant %d %v", len(got), clip(got), len(want), clip(want))
	}
}

func clip(s []string) string {
	if len(s) > 12 {
		return fmt.Sprint(s[:6], " … ", s[len(s)-6:])
	}
	return fmt.Sprint(s)
}

// grantsAuth authenticates every request with a fixed set of grants.
type grantsAuth struct{ g auth.Grants }

func (a grantsAuth) Authenticate(context.Context, *http.Request) (*auth.Grants, error) {
	g := a.g
	return &g, nil
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
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
