// Package bustest is the conformance suite every Bus implementation runs
// (Run), and a collecting Handler (Collector) other packages' tests reuse.
package bustest

import (
	"fmt"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// Entry is one handler call a Collector saw: a delivery, or a truncation
// notice for Topic when Truncated is set (then Delivery is zero).
type Entry struct {
	Truncated bool
	Topic     string
	Delivery  bus.Delivery
}

// Collector is a bus.Handler that records every call in order and never
// blocks. Wait blocks the test, not the bus.
type Collector struct {
	mu      sync.Mutex
	log     []Entry
	n       int           // deliveries in log
	changed chan struct{} // closed and replaced on every call
}

var _ bus.Handler = (*Collector)(nil)

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{changed: make(chan struct{})}
}

// Deliver implements bus.Handler.
func (c *Collector) Deliver(d bus.Delivery) {
	c.add(Entry{Topic: d.Topic, Delivery: d})
}

// Truncated implements bus.Handler.
func (c *Collector) Truncated(topic string) {
	c.add(Entry{Truncated: true, Topic: topic})
}

func (c *Collector) add(e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed == nil { // zero Collector
		c.changed = make(chan struct{})
	}
	c.log = append(c.log, e)
	if !e.Truncated {
		c.n++
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Wait waits until at least n deliveries arrived and returns all deliveries
// so far, in arrival order. After timeout it returns what arrived with an
// error saying how many.
func (c *Collector) Wait(n int, timeout time.Duration) ([]bus.Delivery, error) {
	ds, err := c.WaitUntil(func(ds []bus.Delivery) bool { return len(ds) >= n }, timeout)
	if err != nil {
		return ds, fmt.Errorf("collector: %d of %d deliveries after %v", len(ds), n, timeout)
	}
	return ds, nil
}

// WaitUntil waits until cond holds for the deliveries so far (checked after
// every handler call) and returns them. After timeout it returns them with
// an error.
func (c *Collector) WaitUntil(cond func(ds []bus.Delivery) bool, timeout time.Duration) ([]bus.Delivery, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		ds := c.Deliveries()
		if cond(ds) {
			return ds, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			ds = c.Deliveries()
			if cond(ds) {
				return ds, nil
			}
			return ds, fmt.Errorf("collector: condition not met after %v (%d deliveries)", timeout, len(ds))
		}
	}
}

// Deliveries returns the deliveries so far, in arrival order.
func (c *Collector) Deliveries() []bus.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := make([]bus.Delivery, 0, c.n)
	for _, e := range c.log {
		if !e.Truncated {
			ds = append(ds, e.Delivery)
		}
	}
	return ds
}

// Log returns every call so far (deliveries and truncation notices), in
// arrival order.
func (c *Collector) Log() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Entry(nil), c.log...)
}

// Truncations returns the topics reported truncated, in order.
func (c *Collector) Truncations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []string
	for _, e := range c.log {
		if e.Truncated {
			ts = append(ts, e.Topic)
		}
	}
	return ts
}

// Len returns the number of deliveries so far.
func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
