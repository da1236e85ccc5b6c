// Package deliverylog records every webhook delivery a hookrelay ingest
// path answered — source, delivery id, verification result with the
// precise reason for a refusal, status, the events it became, latency — so
// an operator can answer "why didn't my webhook show up?" from the console.
//
// Whoever ingests a webhook (the relay's in-process handler, the ingest
// Lambda) hands each Entry to a Writer, which queues it without blocking
// and stores it from one goroutine: a full queue drops the entry and counts
// it, so recording never slows or fails a webhook answer. Stores keep a
// bounded log per source — by count, by bytes and by age — in Redis (shared
// by every relay and Lambda) or in memory (relay dev on the memory bus).
// Bodies are kept only when the operator turns that on, with configured
// JSON fields redacted; credentials (Authorization, cookies) never are.
package deliverylog

import (
	"encoding/json"
	"strconv"
	"time"
)

// Outcome summarises what became of a delivery.
type Outcome string

// Outcomes, from the answer the sender got.
const (
	Published Outcome = "published" // 200: every event is on the bus
	Duplicate Outcome = "duplicate" // 200: seen before, the original events returned
	Ignored   Outcome = "ignored"   // 202: verified, but no rule maps it
	Refused   Outcome = "refused"   // 4xx: the sender must fix something
	Failed    Outcome = "failed"    // 5xx: the sender will retry
)

// Reasons say precisely why a delivery was refused or failed; Entry.Detail
// says the same in plain words for the console.
const (
	ReasonUnknownSource    = "unknown_source"
	ReasonMethod           = "method"
	ReasonBodyTooLarge     = "body_too_large"
	ReasonBodyUnreadable   = "body_unreadable"
	ReasonMissingHeader    = "missing_header"
	ReasonMalformedHeader  = "malformed_header"
	ReasonTimestampSkew    = "timestamp_outside_tolerance"
	ReasonBadSignature     = "bad_signature"
	ReasonBadCredentials   = "bad_credentials"
	ReasonMediaType        = "unsupported_media_type"
	ReasonMalformedBody    = "malformed_body"
	ReasonUnmappable       = "unmappable"
	ReasonBusUnavailable   = "bus_unavailable"
	ReasonBusRejected      = "bus_rejected"
	ReasonInternal         = "internal"
	ReasonNoRuleMatched    = "no_rule_matched"
	VerificationOK         = "verified"
	VerificationRefused    = "refused"
	VerificationNotReached = "not_reached"
)

// Via says which path ingested a delivery.
const (
	ViaRelay  = "relay"  // POST /hooks/{source} on a relay
	ViaLambda = "lambda" // the ingest Lambda
	ViaReplay = "replay" // the console's replay
	ViaTest   = "test"   // the console's signed test delivery
)

// UnknownSourceLog is the log that holds deliveries to source names that
// are not configured (typos in a webhook URL): one bounded log for all of
// them, so unknown names cannot create logs without bound.
const UnknownSourceLog = "_unknown"

// Event is one event a delivery became.
type Event struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Type      string `json:"type,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// Entry is one delivery as the log keeps it.
type Entry struct {
	// ID identifies the entry within its source's log (time + random).
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Source is the configured source name; for unknown names it is
	// UnknownSourceLog and Requested holds what the sender asked for.
	Source    string `json:"source"`
	Requested string `json:"requested,omitempty"`
	Provider  string `json:"provider,omitempty"`
	// DeliveryID is the sender's delivery id (or the body's SHA-256 when
	// the scheme has none); Type the event type it announced.
	DeliveryID string `json:"delivery_id,omitempty"`
	Type       string `json:"type,omitempty"`
	// Verification is VerificationOK, VerificationRefused or
	// VerificationNotReached (refused before: unknown source, too large).
	Verification string  `json:"verification"`
	Status       int     `json:"status"`
	Outcome      Outcome `json:"outcome"`
	// Reason is one of the Reason constants; Detail says it in plain
	// words; Header names the request header at fault, if one was.
	Reason    string  `json:"reason,omitempty"`
	Detail    string  `json:"detail,omitempty"`
	Header    string  `json:"header,omitempty"`
	Events    []Event `json:"events,omitempty"`
	Duplicate bool    `json:"duplicate,omitempty"`
	// LatencyMicros is the time from request to answer.
	LatencyMicros int64  `json:"latency_us"`
	Via           string `json:"via,omitempty"`
	Node          string `json:"node,omitempty"`
	// Headers and Body are kept only when bodies are enabled; Body is the
	// raw body with configured fields redacted (JSON), BodyNote says why
	// it is absent or shortened.
	Headers  map[string]string `json:"headers,omitempty"`
	Body     json.RawMessage   `json:"body,omitempty"`
	BodyNote string            `json:"body_note,omitempty"`

	// raw is the body as received, handed over by the ingest path; the
	// Writer redacts it into Body off the request path.
	raw []byte
	// rawHeaders likewise become Headers.
	rawHeaders map[string][]string
}

// WithRequest attaches the request's raw body and headers to e. The Writer
// keeps them (redacted) only when bodies are enabled; the caller must not
// modify either afterwards.
func (e *Entry) WithRequest(headers map[string][]string, body []byte) {
	e.rawHeaders, e.raw = headers, body
}

// Raw returns the body attached with WithRequest (for in-process use such
// as tests); stored entries have Body instead.
func (e *Entry) Raw() []byte { return e.raw }

// StatusClass renders a status for filters: "2xx", "4xx", "5xx".
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return ""
	}
	return strconv.Itoa(status/100) + "xx"
}

// Answer is what an ingest path answered to a delivery the console made
// (a replay, a test delivery).
type Answer struct {
	Status     int             `json:"status"`
	Body       json.RawMessage `json:"body"`
	DeliveryID string          `json:"delivery_id"`
}
