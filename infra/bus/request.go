package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay/infra/event"
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

// ErrRequest is wrapped by every error DecodeRequest, Request.List and
// RequestEvent.Validate return.
var ErrRequest = errors.New("invalid publish request")

// RequestError is a publish request refused, naming where, so that every
// entry point answers the same thing in its own form (an HTTP 400, a
// WebSocket error frame, a dropped Lambda record) without reading text.
type RequestError struct {
	// Path is the field: "topic", "events[2].type", "events"; "" for the
	// body as a whole (not JSON, not an object).
	Path string
	Msg  string
	// Rule is the typed rule broken, when there is one: *event.TopicError
	// (answered as bad_topic) or *event.FieldError.
	Rule error
}

func (e *RequestError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap lets errors.Is find ErrRequest and errors.As the rule.
func (e *RequestError) Unwrap() []error {
	if e.Rule == nil {
		return []error{ErrRequest}
	}
	return []error{ErrRequest, e.Rule}
}

// BadTopic reports whether err is a publish request refused for its topic
// (answered as bad_topic rather than bad_request).
func BadTopic(err error) bool {
	var te *event.TopicError
	return errors.As(err, &te)
}

// Policy is what an entry point fills into the events it validates.
type Policy struct {
	Source string // for an event that names none ("api", the Lambda's envelope source)
	Type   string // for an event that names none (EventBridge detail-type)
	// Key is the idempotency key of an event that names none: the
	// Idempotency-Key header (single events only), a Lambda envelope's id.
	Key string
	// KeyPerEvent gives event i of a batch Key+"#i" (a Lambda envelope of
	// several events); otherwise Key applies to a single event only.
	KeyPerEvent bool
}

// List returns the request's events and whether it was a batch. A batch
// must be non-empty, at most MaxBatch long, and not mixed with top-level
// event fields.
func (r *Request) List() ([]RequestEvent, bool, error) {
	if r.Events == nil {
		return []RequestEvent{r.RequestEvent}, false, nil
	}
	if e := r.RequestEvent; e.Topic != "" || e.Type != "" || len(e.Data) > 0 || e.Source != "" || e.Time != nil || e.IdempotencyKey != "" {
		return nil, true, &RequestError{Path: "events", Msg: `give either one event or {"events":[...]}, not both`}
	}
	evs := *r.Events
	if len(evs) == 0 {
		return nil, true, &RequestError{Path: "events", Msg: "must not be empty"}
	}
	if len(evs) > MaxBatch {
		return nil, true, &RequestError{Path: "events", Msg: fmt.Sprintf("%d events, at most %d per request", len(evs), MaxBatch)}
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

// Validate checks event i of a request (i < 0: a single event) as every
// way in does, fills in what p gives, and returns it as a bus Message.
// Errors are *RequestError naming the field ("events[2].type"). The size
// of the encoded event is the bus's to check (EncodeBody), where the
// event is encoded anyway.
func (e RequestEvent) Validate(i int, p Policy) (Message, error) {
	m := e.Message()
	if m.Type == "" {
		m.Type = p.Type
	}
	if m.Source == "" {
		m.Source = p.Source
	}
	if m.IdempotencyKey == "" && p.Key != "" {
		switch {
		case i < 0:
			m.IdempotencyKey = p.Key
		case p.KeyPerEvent:
			// Redelivery of the same envelope publishes nothing twice.
			m.IdempotencyKey = p.Key + "#" + strconv.Itoa(i)
		}
	}
	if err := event.ValidateTopic(m.Topic); err != nil {
		return Message{}, &RequestError{Path: FieldPath(i, "topic"), Msg: err.Error(), Rule: err}
	}
	// The decoder replaced invalid UTF-8 in the string fields, but data is
	// kept raw: invalid bytes would reach every subscriber's JSON parser.
	if !utf8.Valid(m.Data) {
		return Message{}, &RequestError{Path: FieldPath(i, "data"), Msg: "not valid UTF-8"}
	}
	// Data is left out: the decoder parsed it as JSON, and EncodeBody
	// compacts it (checking it again) when it is published.
	ev := event.Event{Topic: m.Topic, Type: m.Type, Source: m.Source}
	if err := ev.Validate(); err != nil {
		var fe *event.FieldError
		if errors.As(err, &fe) {
			return Message{}, &RequestError{Path: FieldPath(i, fe.Field), Msg: fe.Msg, Rule: err}
		}
		return Message{}, &RequestError{Path: FieldPath(i, ""), Msg: err.Error(), Rule: err}
	}
	if len(m.IdempotencyKey) > MaxIdempotencyKeyLen {
		return Message{}, &RequestError{Path: FieldPath(i, "idempotency_key"), Msg: fmt.Sprintf("longer than %d bytes", MaxIdempotencyKeyLen)}
	}
	return m, nil
}

// Messages decodes and validates a whole publish request: the one
// validator of POST /v1/publish and the publish Lambda (WebSocket frames
// use DecodeRequest and Validate for their one event). It reports whether
// the request was a batch.
func Messages(b []byte, o DecodeOptions, p Policy) ([]Message, bool, error) {
	r, err := DecodeRequest(b, o)
	if err != nil {
		return nil, false, err
	}
	if r.Events == nil { // one event: no list to build
		m, err := r.RequestEvent.Validate(-1, p)
		if err != nil {
			return nil, false, err
		}
		return []Message{m}, false, nil
	}
	evs, _, err := r.List()
	if err != nil {
		return nil, true, err
	}
	msgs := make([]Message, len(evs))
	for i, e := range evs {
		if msgs[i], err = e.Validate(i, p); err != nil {
			return nil, true, err
		}
	}
	return msgs, true, nil
}
