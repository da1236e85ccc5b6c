package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) { relaytest.Main(m) }

// collector is a relay/client subscriber running for the rest of a test,
// recording what it receives.
type collector struct {
	mu     sync.Mutex
	events []client.Event
	closes []int // relay close codes seen (1012 drain, 4008 slow, ...)
	opens  int
	signal chan struct{} // poked on every change
}

// subscribe runs a subscriber against baseURL until the test ends.
func subscribe(t *testing.T, baseURL string, tr client.Transport, token string, topics ...string) *collector {
	t.Helper()
	c := &collector{signal: make(chan struct{}, 1)}
	s, err := client.New(client.Options{
		BaseURL: baseURL, Topics: topics, Transport: tr, Token: token,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
		OnEvent: func(e client.Event) {
			c.mu.Lock()
			c.events = append(c.events, e)
			c.mu.Unlock()
			c.poke()
		},
		OnState: func(st client.State, err error) {
			c.mu.Lock()
			if st == client.Open {
				c.opens++
			}
			var ce *client.Close
			if errors.As(err, &ce) {
				c.closes = append(c.closes, ce.Code)
			}
			c.mu.Unlock()
			c.poke()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Run returns ctx.Err() when the test ends; nothing else to report.
		_ = s.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func (c *collector) poke() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// waitFor polls cond (under the lock) until it holds or timeout passes.
func (c *collector) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.signal:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("timed out after %s waiting for %s (events %d, opens %d, closes %v)", timeout, what, len(c.events), c.opens, c.closes)
		}
	}
}

func (c *collector) waitOpen(t *testing.T, n int) {
	t.Helper()
	c.waitFor(t, fmt.Sprintf("%d opens", n), 15*time.Second, func() bool { return c.opens >= n })
}

func (c *collector) waitEvents(t *testing.T, n int, timeout time.Duration) []client.Event {
	t.Helper()
	c.waitFor(t, fmt.Sprintf("%d events", n), timeout, func() bool { return len(c.events) >= n })
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]client.Event(nil), c.events...)
}

func (c *collector) closeCodes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.closes...)
}

// checkSequence asserts events carry data {"n":0..want-1} exactly once and
// in order (per topic order is what the relay promises; tests use one
// topic).
func checkSequence(t *testing.T, label string, events []client.Event, want int) {
	t.Helper()
	if len(events) != want {
		t.Errorf("%s: %d events, want %d", label, len(events), want)
	}
	for i, e := range events {
		var d struct{ N int }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("%s: event %d data %s: %v", label, i, e.Data, err)
		}
		if d.N != i {
			t.Fatalf("%s: event %d is n=%d (id %s): lost or duplicated events", label, i, d.N, e.ID)
		}
	}
}

// call sends one HTTP request and returns status, headers and body.
func call(t *testing.T, method, url, bearer, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// errCode returns the catalogue code of an error body.
func errCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code
}

// msg is a numbered test event.
func msg(topic string, n int) client.Message {
	return client.Message{Topic: topic, Type: "test.seq", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), IdempotencyKey: fmt.Sprintf("seq-%d", n)}
}
