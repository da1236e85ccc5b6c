package api

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// A Refusal is a stream the relay cannot take now but will take later:
// the node is draining, at its connection cap, the address is over its
// own cap, or the bus is down. It is never answered with a non-200 on SSE,
// because EventSource (browsers and the npm package alike) treats any
// non-200 as final and never reconnects; the transports speak it in their
// own protocol instead (a 200 event stream with retry: and a close event,
// a WebSocket close code), see docs/protocol.md. Permanent refusals (bad
// token, forbidden topic, bad cursor) stay 4xx JSON errors.
type Refusal struct {
	// Reason names it: one of the Refuse* constants.
	Reason string
	// Code is the WebSocket close code, also sent in the SSE close event.
	Code int
	// Retry is the jittered delay the client should wait before it
	// reconnects.
	Retry time.Duration
}

// Retryable refusal reasons, as sent on the wire.
const (
	RefuseRestart        = "restart"
	RefuseOverCapacity   = "over_capacity"
	RefuseRateLimited    = "rate_limited"
	RefuseBusUnavailable = "bus_unavailable"
)

// Close codes of retryable refusals (RFC 6455 7.4.1 and the relay's own).
const (
	CloseServiceRestart = 1012
	CloseTryAgainLater  = 1013
	CloseRateLimited    = 4029
)

// refusalPlan is the close code and the least delay of a reason; the
// jitter adds up to as much again. The delay grows with how long the cause
// is likely to last and how much a quick return would cost: a draining
// node's clients find another node (or the restarted one) within a second
// or two; a Redis failover takes seconds; a full node frees slots only as
// clients leave; an address over its own cap has to close some of its own
// streams first.
func refusalPlan(reason string) (code int, base time.Duration) {
	switch reason {
	case RefuseRestart:
		return CloseServiceRestart, time.Second
	case RefuseBusUnavailable:
		return CloseTryAgainLater, 2 * time.Second
	case RefuseRateLimited:
		return CloseRateLimited, 10 * time.Second
	}
	return CloseTryAgainLater, 5 * time.Second // RefuseOverCapacity
}

// NewRefusal returns the refusal for reason (a Refuse* constant) with a
// fresh jittered delay in [base, 2·base): clients refused together do not
// come back together.
func NewRefusal(reason string) *Refusal {
	code, base := refusalPlan(reason)
	return &Refusal{Reason: reason, Code: code, Retry: base + rand.N(base)}
}

// RetryMillis is Retry in whole milliseconds (the unit of SSE's retry:).
func (r *Refusal) RetryMillis() int64 { return r.Retry.Milliseconds() }

// Text is the WebSocket close reason: "<reason>;retry=<ms>".
func (r *Refusal) Text() string {
	return r.Reason + ";retry=" + strconv.FormatInt(r.RetryMillis(), 10)
}

// Refuser is a transport handler that speaks a Refusal in its own
// protocol (relay/sse, relay/ws). The connection routes hand it their
// capacity refusals; a handler without it gets the JSON error.
type Refuser interface {
	Refuse(w http.ResponseWriter, r *http.Request, rf *Refusal)
}

// refuse answers a retryable refusal through next's own protocol when it
// speaks one, else as the catalogue's JSON error e.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, next http.Handler, rf *Refusal, e *Error) {
	rr, ok := next.(Refuser)
	if !ok {
		s.serveErr(w, r, e)
		return
	}
	s.m.errors.WithLabelValues(e.Code).Inc()
	rr.Refuse(w, r, rf)
}
