package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/chaos"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// cluster is one redis-server and n relay serve processes; with more than
// one relay the clients reach them through chaos.LB.
type cluster struct {
	t      *testing.T
	redis  *redistest.Server
	relays []*relaytest.Relay
	lb     *chaos.LB
	base   string // what clients and the publisher use
}

// startCluster starts n relays; with lb (or n > 1) clients reach them
// through a chaos.LB.
func startCluster(t *testing.T, n int, lb bool, env []string) *cluster {
	t.Helper()
	c := &cluster{t: t, redis: redistest.Start(t)}
	env = append([]string{
		"HOOKRELAY_PUBLISH_RATE=100000", "HOOKRELAY_PUBLISH_BURST=100000",
		"HOOKRELAY_LOG_LEVEL=info",
		// Dead connections (a killed client, a cut path) are noticed on
		// the next heartbeat write; keep that short.
		"HOOKRELAY_HEARTBEAT=1s",
	}, env...)
	var addrs []string
	for range n {
		r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: c.redis.URL(), Env: env})
		c.relays = append(c.relays, r)
		addrs = append(addrs, r.Addr)
	}
	c.base = c.relays[0].URL
	if n > 1 || lb {
		lb, err := chaos.NewLB(addrs...)
		if err != nil {
			t.Fatalf("lb: %v", err)
		}
		t.Cleanup(lb.Close)
		c.lb, c.base = lb, lb.URL
	}
	return c
}

func (c *cluster) token() string {
	c.t.Helper()
	tok, err := auth.Mint(relaytest.TokenKey, auth.MintClaims{Subject: "interop", Topics: []string{"interop:*"}, TTL: time.Hour, Audience: "hookrelay"})
	if err != nil {
		c.t.Fatalf("mint token: %v", err)
	}
	return tok
}

// refusals sums the retryable refusals relay i counted (SSE and WS) with
// reason; -1 when it does not answer.
func refusals(r *relaytest.Relay, reason string) float64 {
	resp, err := http.Get(r.URL + api.MetricsPath)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range []string{"hookrelay_sse_rejects_total", "hookrelay_ws_rejects_total"} {
			if strings.HasPrefix(line, m+`{code="`+reason+`"} `) {
				var v float64
				if _, err := fmt.Sscan(strings.Fields(line)[1], &v); err == nil {
					sum += v
				}
			}
		}
	}
	return sum
}

// publisher publishes {"seq":N} events round robin over the topics, one
// at a time so per-topic order is the publish order, with an idempotency
// key per event so that a retry after a lost answer is not a second event.
type publisher struct {
	pub    *client.Publisher
	topics []string
	// hold is taken (write) by a fault that must not overlap a publish.
	hold sync.RWMutex

	mu   sync.Mutex
	sent map[string]int // topic -> events accepted
}

func newPublisher(base string, topics []string) *publisher {
	return &publisher{pub: &client.Publisher{BaseURL: base, Key: relaytest.APIKey}, topics: topics, sent: map[string]int{}}
}

// run publishes n events, one every gap, retrying each until accepted or
// ctx ends.
func (p *publisher) run(ctx context.Context, n int, gap time.Duration) error {
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for i := range n {
		topic := p.topics[i%len(p.topics)]
		if err := p.one(ctx, topic, tick); err != nil {
			return err
		}
	}
	return nil
}

func (p *publisher) one(ctx context.Context, topic string, tick *time.Ticker) error {
	p.mu.Lock()
	seq := p.sent[topic] + 1
	p.mu.Unlock()
	msg := client.Message{Topic: topic, Type: "interop.seq", Data: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq)),
		IdempotencyKey: fmt.Sprintf("%s-%d", topic, seq)}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %s #%d: %w", topic, seq, ctx.Err())
		case <-tick.C:
		}
		p.hold.RLock()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := p.pub.Publish(pctx, msg)
		cancel()
		p.hold.RUnlock()
		if err == nil {
			p.mu.Lock()
			p.sent[topic] = seq
			p.mu.Unlock()
			return nil
		}
	}
}

func (p *publisher) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.sent {
		out[k] = v
	}
	return out
}

// fillers hold SSE streams directly on a relay to keep it at its
// connection cap.
type fillers struct {
	mu      sync.Mutex
	bodies  []io.Closer
	refused int
}

// fill opens streams until the relay refuses one (it is full); it returns
// whether it was refused.
func (f *fillers) fill(url, token string) bool {
	for {
		resp, err := http.Get(url + "/v1/sse?topic=interop:filler&token=" + token)
		if err != nil {
			return false
		}
		if resp.StatusCode != http.StatusOK || resp.ContentLength >= 0 {
			// A refusal is a whole, short body; a stream has no length.
			resp.Body.Close()
			f.mu.Lock()
			f.refused++
			f.mu.Unlock()
			return true
		}
		f.mu.Lock()
		f.bodies = append(f.bodies, resp.Body)
		f.mu.Unlock()
	}
}

func (f *fillers) release() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bodies {
		b.Close()
	}
	n := len(f.bodies)
	f.bodies = nil
	return n
}

// waitFor polls cond until it holds; it fails the test after timeout.
// The optional state funcs describe what was seen, for the failure.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			var seen []string
			for _, f := range state {
				seen = append(seen, f())
			}
			t.Fatalf("timed out after %s waiting for %s %s", timeout, what, strings.Join(seen, "\n"))
		}
		<-tick.C
	}
}
