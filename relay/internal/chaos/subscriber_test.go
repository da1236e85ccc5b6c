package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
)

// observation is one thing a subscriber saw on a topic, in arrival order:
// an event (its seq) or a truncated signal.
type observation struct {
	seq   int
	trunc bool
}

// subscriber is one relay/client subscriber recording what it receives.
type subscriber struct {
	n         int
	transport client.Transport
	topics    []string
	baseURL   string
	token     string
	// slow is how long each event takes to process (a slow consumer).
	slow time.Duration
	// dialer picks the source address (a storm worker's); nil: default.
	dialer *net.Dialer

	s      *client.Subscriber
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	obs        map[string][]observation
	last       map[string]int // last seq seen per topic
	lat        []time.Duration
	opens      int
	openAt     []time.Time // when each open happened (the storm's resume times)
	closedAt   time.Time
	reconnects []time.Duration
	closes     map[int]int    // relay close codes seen
	reasons    map[string]int // "<code> <reason>" of each close seen
	errs       []string
	stopping   bool // stop was called: the next close is not a failure
	// from is, per topic, the first seq the subscriber must see (it joined
	// after that topic's earlier events); nil: 0.
	from map[string]int
}

// fleetOpts tune a fleet of subscribers.
type fleetOpts struct {
	baseURL string // default the cluster's LB
	// slowEvery makes every slowEvery-th subscriber slow (0: none).
	slowEvery int
	slow      time.Duration
	// first numbers the subscribers (several fleets in one test).
	first int
}

type fleet struct{ subs []*subscriber }

// startFleet starts n subscribers, alternating SSE and WebSocket, each on
// sc.topicsPerSub topics picked at random (seeded by its number), and
// waits until all are open.
func startFleet(t *testing.T, c *cluster, sc scale, n int, o fleetOpts) *fleet {
	t.Helper()
	if o.baseURL == "" {
		o.baseURL = c.lb.URL
	}
	tok := c.token("chaos")
	f := &fleet{}
	for i := range n {
		num := o.first + i
		rng := rand.New(rand.NewPCG(uint64(num), 42))
		var topics []string
		for _, k := range rng.Perm(sc.topics)[:sc.topicsPerSub] {
			topics = append(topics, topicName(k))
		}
		s := newSubscriber(num, topics, o.baseURL, tok)
		if o.slowEvery > 0 && i%o.slowEvery == 0 {
			s.slow = o.slow
		}
		if err := s.init(); err != nil {
			t.Fatal(err)
		}
		s.start()
		f.subs = append(f.subs, s)
	}
	t.Cleanup(f.stop)
	waitFor(t, fmt.Sprintf("%d subscribers open", n), 30*time.Second, f.allOpen)
	return f
}

// newSubscriber is subscriber num (even: SSE, odd: WebSocket); call init
// (after setting slow) and start.
func newSubscriber(num int, topics []string, baseURL, token string) *subscriber {
	s := &subscriber{
		n: num, transport: client.SSE, topics: topics, baseURL: baseURL, token: token,
		obs: make(map[string][]observation), last: make(map[string]int), closes: make(map[int]int), reasons: make(map[string]int),
	}
	if num%2 == 1 {
		s.transport = client.WebSocket
	}
	for _, tp := range topics {
		s.last[tp] = -1
	}
	return s
}

func (s *subscriber) init() error {
	cs, err := client.New(client.Options{
		BaseURL: s.baseURL, Topics: s.topics, Transport: s.transport, Token: s.token,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, HealthyAfter: 2 * time.Second,
		OnEvent:     s.onEvent,
		OnTruncated: s.onTruncated,
		OnState:     s.onState,
		Dialer:      s.dialer,
	})
	if err != nil {
		return fmt.Errorf("subscriber %d: %w", s.n, err)
	}
	s.s = cs
	return nil
}

// start runs the subscriber until stop; the client keeps its cursor
// across stop/start, so a restart resumes.
func (s *subscriber) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.stopping, s.closedAt = false, time.Time{}
	s.mu.Unlock()
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		// Run returns ctx.Err() once stopped: nothing to report.
		_ = s.s.Run(ctx)
	}()
}

func (s *subscriber) stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
}

func (s *subscriber) onEvent(ev client.Event) {
	var p payload
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, fmt.Sprintf("event %s: %v", ev.Raw, err))
		s.mu.Unlock()
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.obs[ev.Topic] = append(s.obs[ev.Topic], observation{seq: p.Seq})
	s.last[ev.Topic] = max(s.last[ev.Topic], p.Seq)
	s.lat = append(s.lat, now.Sub(time.Unix(0, p.Sent)))
	s.mu.Unlock()
	if s.slow > 0 {
		// Simulated processing time of a slow consumer (not a wait for a
		// condition): the client reads nothing meanwhile, so the relay's
		// queue for this connection fills up.
		work := time.NewTimer(s.slow)
		<-work.C
	}
}

func (s *subscriber) onTruncated(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs[topic] = append(s.obs[topic], observation{trunc: true})
}

func (s *subscriber) onState(st client.State, err error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case client.Open:
		s.opens++
		s.openAt = append(s.openAt, now)
		if !s.closedAt.IsZero() {
			s.reconnects = append(s.reconnects, now.Sub(s.closedAt))
			s.closedAt = time.Time{}
		}
	case client.Closed:
		if s.stopping {
			return // stopped by the test
		}
		if s.closedAt.IsZero() {
			s.closedAt = now
		}
		var ce *client.Close
		if errors.As(err, &ce) {
			s.closes[ce.Code]++
			s.reasons[strconv.Itoa(ce.Code)+" "+ce.Reason]++
		}
	}
}

func (s *subscriber) isOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens > 0 && s.closedAt.IsZero()
}

func (f *fleet) allOpen() bool {
	for _, s := range f.subs {
		if !s.isOpen() {
			return false
		}
	}
	return true
}

// counter is the number of accepted events of a topic: the publisher, or
// a storm worker's copy of its counts.
type counter interface{ count(topic string) int }

// caughtUp reports whether every subscriber saw the last accepted seq of
// each of its topics.
func (f *fleet) caughtUp(p counter) bool {
	for _, s := range f.subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			if s.last[tp] < p.count(tp)-1 {
				s.mu.Unlock()
				return false
			}
		}
		s.mu.Unlock()
	}
	return true
}

// waitCaughtUp waits until every subscriber caught up, then stops them
// all; on timeout it only stops them (verify then reports what is lost).
func (f *fleet) waitCaughtUp(t *testing.T, p *publisher, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f.caughtUp(p) && time.Now().Before(deadline) {
		tick := time.NewTimer(20 * time.Millisecond)
		<-tick.C
	}
	if !f.caughtUp(p) {
		t.Errorf("subscribers did not catch up within %s", timeout)
	}
	f.stop()
}

func (f *fleet) stop() {
	for _, s := range f.subs {
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		s.cancel()
	}
	for _, s := range f.subs {
		<-s.done
	}
}

// closeCodes sums the relay close codes every subscriber saw.
func (f *fleet) closeCodes() map[int]int {
	out := make(map[int]int)
	for _, s := range f.subs {
		s.mu.Lock()
		for c, n := range s.closes {
			out[c] += n
		}
		s.mu.Unlock()
	}
	return out
}
