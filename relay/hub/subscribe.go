package hub

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// replayPage is how many history events are fetched and queued at a time
// (the bus also bounds a page in bytes); the next page waits until the
// writer has taken the previous one, so a long replay costs at most two
// pages of memory, not the whole history.
const replayPage = 100

// maxClockSkew is how far ahead of this node's clock an event id may be and
// still be accepted in a cursor (ids are publish times; nodes' clocks and
// Redis's differ a little).
const maxClockSkew = 24 * time.Hour

// Plan is a resolved subscription request: every topic has a position.
type Plan struct {
	topics []string
	from   event.Cursor
	replay []string // topics whose position came from the client
}

// Cursor is the position the subscription starts from.
func (p *Plan) Cursor() event.Cursor { return p.from }

// Resolve checks the topic count and gives every topic without a position
// in from the topic's current last id, so that the ready cursor covers it
// and a reconnect cannot skip events published in between. Topics must be
// valid and deduplicated; from must hold only these topics (ParseCursor).
func (c *Client) Resolve(ctx context.Context, topics []string, from event.Cursor) (*Plan, error) {
	c.mu.Lock()
	n := c.ntopics
	c.mu.Unlock()
	if n+len(topics) > c.h.o.MaxTopics {
		return nil, fmt.Errorf("%w: %d topics, at most %d per connection", ErrTooManyTopics, n+len(topics), c.h.o.MaxTopics)
	}
	p := &Plan{topics: topics, from: make(event.Cursor, 0, len(topics))}
	horizon := uint64(time.Now().Add(maxClockSkew).UnixMilli())
	for _, t := range topics {
		if id, ok := from.Get(t); ok {
			if id.MS > horizon {
				// Ids carry their publish time, so this position was not
				// issued by any bus; refusing it beats a stream that ends
				// and is resumed with the same cursor forever.
				return nil, fmt.Errorf("%w: position %s of %s is in the future", event.ErrCursor, id, t)
			}
			p.from.Set(t, id)
			p.replay = append(p.replay, t)
			continue
		}
		page, err := c.h.bus.History(ctx, t, "", 1)
		if err != nil {
			return nil, fmt.Errorf("resolve position of %s: %w", t, err)
		}
		var last event.ID
		if len(page.Events) > 0 {
			last = page.Events[len(page.Events)-1].ID
		}
		p.from.Set(t, last)
	}
	return p, nil
}

// subscription is one bus subscription of a client, also its bus.Handler.
type subscription struct {
	c *Client
	// topics still wanted and whether the bus is replaying; guarded by c.mu.
	topics    []string
	replaying bool
	sub       bus.Subscription
}

func (s *subscription) Deliver(d bus.Delivery) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(s.topics, d.Topic) {
		return
	}
	c.enqueueLocked(Item{Kind: KindEvent, Topic: d.Topic, ID: d.ID, JSON: d.JSON}, !s.replaying)
}

func (s *subscription) Truncated(topic string) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(s.topics, topic) {
		c.enqueueLocked(Item{Kind: KindTruncated, Topic: topic}, false)
	}
}

// Subscribe replays history after the plan's positions (paced by the
// peer), subscribes to the bus for the rest, and queues a KindReady item
// with ack once everything missed is queued. ctx bounds the replay and the
// bus calls; the subscription lives until Unsubscribe or the client closes.
func (c *Client) Subscribe(ctx context.Context, p *Plan, ack *Ack) error {
	s := &subscription{c: c, topics: slices.Clone(p.topics), replaying: true}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClientClosed
	}
	if c.ntopics+len(p.topics) > c.h.o.MaxTopics {
		c.mu.Unlock()
		return fmt.Errorf("%w: at most %d per connection", ErrTooManyTopics, c.h.o.MaxTopics)
	}
	for _, t := range p.topics {
		if c.subscribedLocked(t) {
			c.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrAlreadySubscribed, t)
		}
	}
	for _, pos := range p.from {
		c.cursor.Set(pos.Topic, pos.ID)
	}
	c.subs = append(c.subs, s)
	c.ntopics += len(p.topics)
	c.mu.Unlock()
	c.h.m.subscriptions.Add(float64(len(p.topics)))

	from := slices.Clone(p.from)
	for _, t := range p.replay {
		last, err := c.replay(ctx, s, t, from)
		if err != nil {
			c.dropSub(s)
			return err
		}
		from.Set(t, last)
	}
	sub, err := c.h.bus.Subscribe(ctx, p.topics, from, s)
	if err != nil {
		c.dropSub(s)
		return fmt.Errorf("subscribe %d topics: %w", len(p.topics), err)
	}
	c.mu.Lock()
	s.sub = sub
	s.replaying = false
	orphan := c.finished || !slices.Contains(c.subs, s)
	if !orphan {
		c.enqueueLocked(Item{Kind: KindReady, Ack: ack}, false)
	}
	c.mu.Unlock()
	if orphan {
		// The client closed (or unsubscribed everything) while we were
		// subscribing and nobody else will close this subscription.
		sub.Close()
		return ErrClientClosed
	}
	return nil
}

// replay queues topic's history after its position in from, page by page.
func (c *Client) replay(ctx context.Context, s *subscription, topic string, from event.Cursor) (event.ID, error) {
	after, _ := from.Get(topic)
	for {
		// Only once the queue is empty: with pages bounded in bytes by the
		// bus (history_page_bytes), a replay to a peer that does not read
		// holds at most the page its writer is stuck on plus one queued.
		if !c.waitDrained(1, ctx.Done()) {
			if err := ctx.Err(); err != nil {
				return after, err
			}
			return after, ErrClientClosed
		}
		page, err := c.h.bus.History(ctx, topic, after.String(), replayPage)
		if err != nil {
			return after, fmt.Errorf("replay %s after %s: %w", topic, after, err)
		}
		c.mu.Lock()
		if page.Truncated {
			c.enqueueLocked(Item{Kind: KindTruncated, Topic: topic}, false)
		}
		for _, d := range page.Events {
			c.enqueueLocked(Item{Kind: KindEvent, Topic: d.Topic, ID: d.ID, JSON: d.JSON}, false)
			after = d.ID
		}
		c.mu.Unlock()
		if !page.More && len(page.Events) < replayPage {
			return after, nil
		}
	}
}

func (c *Client) subscribedLocked(topic string) bool {
	for _, s := range c.subs {
		if slices.Contains(s.topics, topic) {
			return true
		}
	}
	return false
}

// dropSub forgets a subscription whose setup failed.
func (c *Client) dropSub(s *subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.subs, s); i >= 0 {
		c.subs = slices.Delete(c.subs, i, i+1)
		c.ntopics -= len(s.topics)
		c.h.m.subscriptions.Sub(float64(len(s.topics)))
		for _, t := range s.topics {
			c.cursor.Delete(t)
		}
	}
}

// Unsubscribe stops topics and returns those that were subscribed. A bus
// subscription is closed once none of its topics is wanted any more.
func (c *Client) Unsubscribe(topics []string) []string {
	var removed []string
	var closing []bus.Subscription
	c.mu.Lock()
	for _, t := range topics {
		for i, s := range c.subs {
			j := slices.Index(s.topics, t)
			if j < 0 {
				continue
			}
			s.topics = slices.Delete(s.topics, j, j+1)
			removed = append(removed, t)
			c.cursor.Delete(t)
			c.ntopics--
			if len(s.topics) == 0 {
				c.subs = slices.Delete(c.subs, i, i+1)
				if s.sub != nil {
					closing = append(closing, s.sub)
				}
			}
			break
		}
	}
	c.mu.Unlock()
	c.h.m.subscriptions.Sub(float64(len(removed)))
	for _, sub := range closing {
		sub.Close()
	}
	return removed
}

// Topics returns the topics the client is subscribed to.
func (c *Client) Topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []string
	for _, s := range c.subs {
		ts = append(ts, s.topics...)
	}
	return ts
}

// Advance moves the cursor past an event item; sinks call it (on the writer
// goroutine) for each KindEvent before encoding it.
func (c *Client) Advance(it *Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cursor.Get(it.Topic); ok {
		c.cursor.Set(it.Topic, it.ID)
	}
}

// AppendCursor appends the wire form of the client's cursor.
func (c *Client) AppendCursor(b []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor.AppendTo(b)
}

// AppendCursorOf appends the wire form of the cursor restricted to topics.
func (c *Client) AppendCursorOf(b []byte, topics []string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := make(event.Cursor, 0, len(topics))
	for _, t := range topics {
		if id, ok := c.cursor.Get(t); ok {
			sub.Set(t, id)
		}
	}
	return sub.AppendTo(b)
}
