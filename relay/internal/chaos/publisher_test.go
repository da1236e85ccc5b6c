package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// payload is the data of every chaos event: the per-topic sequence number
// and when the first attempt was sent (for delivery latency).
type payload struct {
	Type  string `json:"type,omitempty"`  // webhook bodies only
	Topic string `json:"topic,omitempty"` // webhook bodies only
	Seq   int    `json:"seq"`
	Sent  int64  `json:"sent"` // unix ns
	Pad   string `json:"pad,omitempty"`
}

// publisher publishes a numbered sequence per topic, sequentially per
// topic so that acceptance order is publish order: event seq is sent (and
// retried with the same idempotency key / delivery id, as a webhook sender
// does) until it is accepted, only then seq+1. Even seqs go through POST
// /v1/publish, odd ones through the signed webhook endpoint; both through
// the LB.
type publisher struct {
	c      *cluster
	topics []string
	hc     *http.Client
	pub    *client.Publisher
	// dupWebhooks sends every webhook delivery twice: the second answer
	// must be a duplicate with the same id.
	dupWebhooks bool
	// pad makes every event this many bytes bigger (slow consumers fill
	// socket buffers and relay queues sooner).
	pad int

	// serial holds one lock per topic, held while one event of the topic
	// is published: the steady loop and a burst share the sequence.
	serial map[string]*sync.Mutex

	mu       sync.Mutex
	accepted map[string][]accepted // per topic, index = seq
	inflight map[string]int        // per topic: seq being published now (-1: none)
	problems []string

	attempts, retries, unavailable, dupAnswers atomic.Int64
}

type accepted struct {
	id string
	at time.Time
}

func newPublisher(c *cluster, topics []string) *publisher {
	hc := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second},
	}
	p := &publisher{
		c: c, topics: topics, hc: hc,
		pub:      &client.Publisher{BaseURL: c.lb.URL, Key: relaytest.APIKey, HTTP: hc},
		accepted: make(map[string][]accepted),
		inflight: make(map[string]int),
		serial:   make(map[string]*sync.Mutex),
	}
	for _, t := range topics {
		p.inflight[t] = -1
		p.serial[t] = &sync.Mutex{}
	}
	return p
}

// run publishes at rate events/s over all topics until ctx ends, then
// returns once every in-flight event was accepted or giveUp passed.
func (p *publisher) run(ctx context.Context, rate int, giveUp time.Duration) {
	p.runBatches(ctx, rate, 1, giveUp)
}

// runBatches is run with batch events per request (POST /v1/publish
// batches, in seq order): a sequential sender per topic reaches rates one
// event per round trip cannot.
func (p *publisher) runBatches(ctx context.Context, rate, batch int, giveUp time.Duration) {
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) * float64(len(p.topics)*batch) / float64(rate))
	for i, topic := range p.topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the topics' ticks over one period.
			first := time.NewTimer(every * time.Duration(i) / time.Duration(len(p.topics)))
			select {
			case <-ctx.Done():
				first.Stop()
				return
			case <-first.C:
			}
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				if !p.publishN(topic, batch, giveUp) {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
}

// publishNext publishes the topic's next seq, retrying until accepted; false
// when it could not be accepted within giveUp (a failure of the scenario).
func (p *publisher) publishNext(topic string, giveUp time.Duration) bool {
	return p.publishN(topic, 1, giveUp)
}

// publishN publishes the topic's next n seqs: one event alternately through
// the API and a webhook, or n > 1 as one API batch.
func (p *publisher) publishN(topic string, n int, giveUp time.Duration) bool {
	p.serial[topic].Lock()
	defer p.serial[topic].Unlock()
	p.mu.Lock()
	seq := len(p.accepted[topic])
	p.inflight[topic] = seq
	p.mu.Unlock()
	now := time.Now().UnixNano()
	bodies := make([]payload, n)
	for i := range bodies {
		bodies[i] = payload{Seq: seq + i, Sent: now, Pad: strings.Repeat("x", p.pad)}
	}
	deadline := time.Now().Add(giveUp)
	backoff := 50 * time.Millisecond
	var last error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		p.attempts.Add(1)
		if attempt > 0 {
			p.retries.Add(1)
		}
		var ids []string
		var err error
		if n > 1 || seq%2 == 0 {
			ids, err = p.viaAPI(topic, bodies)
		} else {
			var id string
			id, err = p.viaWebhook(topic, bodies[0])
			ids = []string{id}
		}
		if err == nil {
			p.mu.Lock()
			for _, id := range ids {
				p.accepted[topic] = append(p.accepted[topic], accepted{id: id, at: time.Now()})
			}
			p.inflight[topic] = -1
			p.mu.Unlock()
			return true
		}
		last = err
		if !isRetryable(err) {
			break
		}
		var he *client.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusServiceUnavailable {
			p.unavailable.Add(1)
		}
		// A sender's retry: exponential, capped; 503s and network errors
		// alike (the relay may have died with the request).
		t := time.NewTimer(backoff)
		<-t.C
		backoff = min(2*backoff, time.Second)
	}
	p.problem("%s seqs %d..%d not accepted (gave up after %s): %v", topic, seq, seq+n-1, giveUp, last)
	return false
}

func (p *publisher) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *publisher) viaAPI(topic string, bodies []payload) ([]string, error) {
	msgs := make([]client.Message, len(bodies))
	for i, b := range bodies {
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		msgs[i] = client.Message{Topic: topic, Type: "chaos.tick", Data: data, IdempotencyKey: "k-" + topic + "-" + strconv.Itoa(b.Seq)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := p.pub.Publish(ctx, msgs...)
	if err != nil {
		return nil, err
	}
	if len(out) != len(msgs) {
		return nil, fmt.Errorf("publish answer %+v for %d events", out, len(msgs))
	}
	ids := make([]string, len(out))
	for i, o := range out {
		if o.Topic != topic || o.ID == "" {
			return nil, fmt.Errorf("publish answer %+v", out)
		}
		if o.Duplicate {
			p.dupAnswers.Add(1)
		}
		ids[i] = o.ID
	}
	return ids, nil
}

// webhookAnswer is the relay's 200 answer to a delivery.
type webhookAnswer struct {
	Events []client.Published `json:"events"`
}

// viaWebhook delivers body as a Standard Webhooks sender does: webhook-id
// stays the same across retries, the timestamp and signature are fresh.
func (p *publisher) viaWebhook(topic string, body payload) (string, error) {
	body.Type, body.Topic = "chaos.tick", topic
	raw, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	msgID := "msg-" + topic + "-" + strconv.Itoa(body.Seq)
	sends := 1
	if p.dupWebhooks {
		sends = 2
	}
	var first string
	for i := range sends {
		ans, err := p.deliver(msgID, raw)
		if err != nil {
			if i > 0 {
				// The first copy was accepted: a failed redelivery does not
				// change what was published.
				return first, nil
			}
			return "", err
		}
		if len(ans.Events) != 1 || ans.Events[0].ID == "" {
			return "", fmt.Errorf("webhook answer %+v", ans)
		}
		ev := ans.Events[0]
		if ev.Duplicate {
			p.dupAnswers.Add(1)
		}
		switch {
		case i == 0:
			first = ev.ID
		case !ev.Duplicate || ev.ID != first:
			p.problem("%s seq %d: redelivery answered %+v, want duplicate of %s", topic, body.Seq, ev, first)
		}
	}
	return first, nil
}

func (p *publisher) deliver(msgID string, raw []byte) (*webhookAnswer, error) {
	now := time.Now()
	req, err := http.NewRequest(http.MethodPost, p.c.lb.URL+"/hooks/"+webhookSource, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", webhook.SignStandard(p.c.secret, msgID, now, raw))
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("webhook: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &client.HTTPError{Status: resp.StatusCode, Body: string(b)}
	}
	var ans webhookAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, fmt.Errorf("webhook: decode answer %q: %w", b, err)
	}
	return &ans, nil
}

// total is the number of accepted events over all topics.
func (p *publisher) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.accepted {
		n += len(a)
	}
	return n
}

// webhooks is the number of accepted events sent as webhooks (odd seqs).
func (p *publisher) webhooks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.accepted {
		n += len(a) / 2
	}
	return n
}

// count is the number of accepted events of topic.
func (p *publisher) count(topic string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accepted[topic])
}

// inflightNow returns, per topic, the seq being published right now (for
// the Redis restart: such a publish may have been stored, lost with the
// data, and stored again after the restart).
func (p *publisher) inflightNow() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.inflight))
	for t, s := range p.inflight {
		if s >= 0 {
			out[t] = s
		}
	}
	return out
}

func (p *publisher) checkProblems(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		t.Error("publisher: " + s)
	}
}

// isRetryable is every error a sender retries: relay answers 5xx/429 and
// network errors.
func isRetryable(err error) bool {
	var he *client.HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500 || he.Status == http.StatusTooManyRequests
	}
	return true
}
