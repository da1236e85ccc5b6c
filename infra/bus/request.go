package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Publish request limits, the same for every way in (POST /v1/publish,
// WebSocket publish, the publish Lambda).
const (
	// MaxBatch bounds the events of one publish request.
	MaxBatch = 1000
	// MaxIdempotencyKeyLen bounds an idempotency key (it becomes a Redis key).
	MaxIdempotencyKeyLen = 200
)

// RequestEvent is one event of a publish request: the JSON that
// POST /v1/publish takes and the publish Lambda reads from SQS, SNS,
// EventBridge and direct invokes. One definition keeps the two from
// drifting apart.
type RequestEvent struct {
	Topic          string          `json:"topic"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data"`
	Source         string          `json:"source"`
	Time           *time.Time      `json:"time"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// Request is a publish request: one event, or {"events":[...]}.
type Request struct {
	Events *[]RequestEvent `json:"events"`
	RequestEvent
}

// ErrRequest is wrapped by every error Request.List returns.
var ErrRequest = errors.New("invalid publish request")

// List returns the request's events and whether it was a batch. A batch
// must be non-empty, at most MaxBatch long, and not mixed with top-level
// event fields.
func (r *Request) List() ([]RequestEvent, bool, error) {
	if r.Events == nil {
		return []RequestEvent{r.RequestEvent}, false, nil
	}
	if e := r.RequestEvent; e.Topic != "" || e.Type != "" || len(e.Data) > 0 || e.Source != "" || e.Time != nil || e.IdempotencyKey != "" {
		return nil, true, fmt.Errorf("%w: events: give either one event or {\"events\":[...]}, not both", ErrRequest)
	}
	evs := *r.Events
	if len(evs) == 0 {
		return nil, true, fmt.Errorf("%w: events: must not be empty", ErrRequest)
	}
	if len(evs) > MaxBatch {
		return nil, true, fmt.Errorf("%w: events: %d events, at most %d per request", ErrRequest, len(evs), MaxBatch)
	}
	return evs, true, nil
}

// Message is the event as a bus Message: a JSON null data becomes no data
// and a missing time the publish time. Validation is the caller's (it
// knows how to name the field to its client) and EncodeBody's.
func (e RequestEvent) Message() Message {
	m := Message{Topic: e.Topic, Type: e.Type, Source: e.Source, Data: e.Data, IdempotencyKey: e.IdempotencyKey}
	if bytes.Equal(bytes.TrimSpace(m.Data), []byte("null")) {
		m.Data = nil
	}
	if e.Time != nil {
		m.Time = *e.Time
	}
	return m
}
