// Package bus moves events from publishers to subscribers. Bus is the
// contract; the memory subpackage is the embedded one-process
// implementation and the redis subpackage the production one. Both pass the
// conformance suite in bustest.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hookrelay/hookrelay/infra/event"
)

// Publisher is the part of a Bus a producer needs (the webhook handler,
// the publish Lambda): it only ever publishes. See Bus.Publish.
type Publisher interface {
	Publish(ctx context.Context, msgs []Message) ([]Published, error)
}

// Bus publishes events, replays and streams them to subscribers, answers
// history queries and keeps read cursors for unread badges.
type Bus interface {
	// Publish appends each message to its topic and notifies live
	// subscribers. Each message is atomic: dedup, append and notify happen
	// together or not at all. Messages are published in order; on error the
	// returned slice holds the events published before the failure (a
	// prefix of msgs) and the error wraps ErrUnavailable when the backend
	// could not be reached. A message whose IdempotencyKey was seen on its
	// topic within the dedup window is not published again: the original
	// event is returned in its place, with Duplicate set.
	Publish(ctx context.Context, msgs []Message) ([]Published, error)

	// Subscribe delivers to h every event of topics after the positions in
	// from (replay), then every new event (live), with no gap and no
	// duplicate, in id order per topic. A topic without a position in from
	// starts live. If events after a topic's position are gone (trimmed,
	// expired, backend restarted without persistence), h.Truncated is called
	// before the first event delivered for that topic. Replay happens before
	// Subscribe returns, so an error (ErrUnavailable) means nothing was
	// delivered. ctx bounds only the call itself; the subscription lives
	// until Close.
	Subscribe(ctx context.Context, topics []string, from event.Cursor, h Handler) (Subscription, error)

	// History returns up to limit events of topic after the id after, oldest
	// first. With after == "" it returns the latest limit events. A page
	// also stops at Options.HistoryPageBytes (More is then set): its cost
	// is bounded in bytes whatever the events' size.
	History(ctx context.Context, topic string, after string, limit int) (HistoryPage, error)

	// SetRead records that reader has read topic up to and including id.
	// A read cursor only moves forward.
	SetRead(ctx context.Context, reader, topic, id string) error

	// Unread counts the events of topic after reader's read cursor, up to
	// MaxUnread.
	Unread(ctx context.Context, reader, topic string) (UnreadCount, error)

	// Ready reports whether the bus can serve publishes and subscriptions.
	Ready(ctx context.Context) error

	// Close releases connections; subscriptions stop receiving.
	Close() error
}

// Message is what a producer publishes.
type Message struct {
	Topic  string
	Type   string
	Source string
	Data   json.RawMessage
	// Time of the event; zero means the time of publishing.
	Time time.Time
	// IdempotencyKey, when set, makes a repeated publish of the same key on
	// the same topic within the dedup window return the original event
	// instead of a new one. Webhooks use source + delivery id (+ index).
	IdempotencyKey string
	// DedupTTL, when positive, is how long this message's idempotency key
	// is remembered instead of Options.DedupTTL (token publishers get a
	// short one: their keys only need to outlive a retry).
	DedupTTL time.Duration
}

// ScopedKey namespaces an idempotency key by its publisher ("apikey:ci",
// "token:alice"), so one publisher can neither pre-claim nor probe
// another's keys on a topic they share (L1 of the 2026-12 review). The
// separator cannot appear in a publisher name.
func ScopedKey(publisher, key string) string {
	if key == "" {
		return ""
	}
	return publisher + "|" + key
}

// Published is the outcome of publishing one message.
type Published struct {
	Event event.Event
	// Duplicate is true when the idempotency key was seen before and Event
	// is the original.
	Duplicate bool
}

// Delivery is one event as the bus hands it to subscribers.
type Delivery struct {
	Topic string
	ID    event.ID
	// JSON is the complete event encoding, encoded once at publish and
	// shared by every subscriber: never modify it.
	JSON []byte
}

// Decode parses the event JSON.
func (d Delivery) Decode() (event.Event, error) {
	var e event.Event
	err := json.Unmarshal(d.JSON, &e)
	return e, err
}

// Handler receives a subscription's events. Calls for one topic are
// sequential and in id order; calls for different topics of the same
// subscription may be concurrent. Handlers run on the bus's dispatch path:
// they must not block (queue the delivery and return).
type Handler interface {
	Deliver(d Delivery)
	// Truncated reports that events of topic after the subscriber's
	// position are no longer available; delivery continues with the oldest
	// event still retained (or live).
	Truncated(topic string)
}

// Subscription is a live subscription. Close stops delivery; after it
// returns no handler call is in progress or will start.
type Subscription interface {
	Close()
}

// HistoryPage is one page of a topic's history.
type HistoryPage struct {
	Events []Delivery
	// Truncated is true when events after the requested position were
	// trimmed, so Events does not continue from it.
	Truncated bool
	// More is true when the page stopped at the byte bound with more events
	// in range: with after set, the next page starts after the last event;
	// with after == "", Events are the newest that fit.
	More bool
}

// MaxUnread caps unread counts: badges show "99+" long before this.
const MaxUnread = 1000

// UnreadCount is a reader's unread state for one topic.
type UnreadCount struct {
	Count int `json:"count"`
	// Capped is true when there are at least MaxUnread unread events.
	Capped bool `json:"capped"`
	// ReadID is the reader's read cursor, "" if never set.
	ReadID string `json:"read_id"`
	// LastID is the topic's newest event id, "" if none.
	LastID string `json:"last_id"`
}

// Errors every implementation returns (wrapped) so callers can map them to
// answers: ErrUnavailable -> 503 with Retry-After, ErrInvalid -> 400.
var (
	ErrUnavailable = errors.New("bus unavailable")
	ErrInvalid     = errors.New("invalid message")
	ErrClosed      = errors.New("bus closed")
	// ErrBusy comes wrapped together with ErrUnavailable when the call
	// waited too long for one of this node's own connections to the bus
	// (its pool was exhausted): the node is overloaded, the bus itself
	// may be healthy. Callers that tell the two apart (a new stream is
	// refused as over_capacity, not bus_unavailable) check it first.
	ErrBusy = errors.New("bus connections of this node exhausted")
)

// Retryable reports whether err means the bus could not take or give the
// request right now (unavailable or closed): nothing was stored, and the
// same request may be sent again, with the same idempotency keys.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed)
}
