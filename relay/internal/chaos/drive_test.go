package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hookrelay/hookrelay/relay/api"
)

// The scenarios below need a condition to happen (history trimmed past a
// cursor, a 503 during an outage, a reconnect). On a busy machine the
// steady publisher reaches a fraction of its rate, so no scenario counts on
// a rate or a point in time to bring its condition about: each drives
// (publishes, keeps a fault on) until the condition holds, within a
// bounded deadline, and fails naming the condition when it does not.

// driveTimeout bounds how long a scenario drives towards its condition.
const driveTimeout = 90 * time.Second

// haveCursors reports whether every subscriber has seen at least one event
// of each of its topics (a resume then starts from a cursor, not from "now").
func haveCursors(subs []*subscriber) bool {
	for _, s := range subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			if s.last[tp] < 0 {
				s.mu.Unlock()
				return false
			}
		}
		s.mu.Unlock()
	}
	return true
}

// newestSeen is, per topic any of subs follows, the highest seq one of them
// saw (-1: none).
func newestSeen(subs []*subscriber) map[string]int {
	out := make(map[string]int)
	for _, s := range subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			if v, ok := out[tp]; !ok || s.last[tp] > v {
				out[tp] = s.last[tp]
			}
		}
		s.mu.Unlock()
	}
	return out
}

// missedSome reports whether, for every subscriber, at least one of its
// topics has an event accepted after the last one it saw.
func missedSome(p *publisher, subs []*subscriber) bool {
	for _, s := range subs {
		s.mu.Lock()
		missed := slices.ContainsFunc(s.topics, func(tp string) bool { return p.count(tp)-1 > s.last[tp] })
		s.mu.Unlock()
		if !missed {
			return false
		}
	}
	return true
}

// lastProblem is the publisher's latest problem ("" if none).
func (p *publisher) lastProblem() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) == 0 {
		return ""
	}
	return p.problems[len(p.problems)-1]
}

// idOf is the id the relays answered for seq of topic ("" if not accepted).
func (p *publisher) idOf(topic string, seq int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq < 0 || seq >= len(p.accepted[topic]) {
		return ""
	}
	return p.accepted[topic][seq].id
}

// trimPast publishes batches to each topic of newest until the relays'
// history API says the topic's stream no longer holds the event after
// newest[topic]+1: every subscriber whose last seen seq is at most
// newest[topic] (the client's cursor may be one ahead of what the test
// recorded) then resumes past trimmed history. Redis trims approximately
// (MAXLEN ~ drops whole 100-entry nodes), so how many events that takes is
// Redis's business; the test only needs it to have happened.
func (r *run) trimPast(newest map[string]int) {
	r.t.Helper()
	tok := r.c.token("chaos-history")
	deadline := time.Now().Add(driveTimeout)
	todo := make(map[string]int, len(newest))
	for tp, seq := range newest {
		todo[tp] = seq + 1
	}
	for len(todo) > 0 {
		for tp, seq := range todo {
			if !r.pub.publishN(tp, 50, giveUp) {
				r.t.Fatalf("driving %s towards trimmed history: %s", tp, r.pub.lastProblem())
			}
			trimmed, err := r.c.historyTruncated(tok, tp, r.pub.idOf(tp, seq))
			if err != nil {
				r.t.Fatalf("driving %s towards trimmed history: %v", tp, err)
			}
			if trimmed {
				delete(todo, tp)
			}
		}
		if len(todo) > 0 && time.Now().After(deadline) {
			r.t.Fatalf("history of %d topics still not trimmed past the stopped subscribers' cursors after %s of publishing (%v)", len(todo), driveTimeout, todo)
		}
	}
}

// historyTruncated asks the relays (through the LB) whether the stream of
// topic was trimmed past the event with id after: GET
// /v1/topics/{topic}/events?after=ID answers truncated: true then.
func (c *cluster) historyTruncated(token, topic, after string) (bool, error) {
	if after == "" {
		return false, fmt.Errorf("history %s: no accepted event to ask after", topic)
	}
	u := c.lb.URL + api.TopicsPrefix + url.PathEscape(topic) + "/events?limit=1&after=" + url.QueryEscape(after)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("history %s: %w", topic, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("history %s: read: %w", topic, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("history %s: %d %s", topic, resp.StatusCode, body)
	}
	var page struct {
		Truncated bool `json:"truncated"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return false, fmt.Errorf("history %s: decode %q: %w", topic, body, err)
	}
	return page.Truncated, nil
}

// missingTruncSignals lists the (subscriber, topic) streams of subs that
// never received a truncated signal.
func missingTruncSignals(subs []*subscriber) []string {
	var out []string
	for _, s := range subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			if !slices.ContainsFunc(s.obs[tp], func(o observation) bool { return o.trunc }) {
				out = append(out, fmt.Sprintf("sub %d (%s) %s", s.n, s.transport, tp))
			}
		}
		s.mu.Unlock()
	}
	return out
}

// reconnected is the number of subscribers that opened again after a close.
func (f *fleet) reconnected() int {
	n := 0
	for _, s := range f.subs {
		s.mu.Lock()
		if len(s.reconnects) > 0 {
			n++
		}
		s.mu.Unlock()
	}
	return n
}
