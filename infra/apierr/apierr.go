// Package apierr is hookrelay's one error catalogue: the stable codes
// clients switch on, their HTTP statuses and retry hints, and the one
// rendering of an error as JSON ({"error":{"code","message","status"}}).
// Every entry point answers through it: the relay's HTTP API, SSE and
// WebSocket frames, the webhook handler and both Lambdas. It imports
// nothing of hookrelay, so each of them can; mapping their own sentinel
// errors onto entries stays with them (relay/api.Classify,
// infra/webhook). docs/protocol.md and docs/webhooks.md list every
// code; TestDocsListEveryCode keeps them in step.
package apierr

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Codes: stable strings clients switch on.
const (
	CodeBadRequest           = "bad_request"
	CodeBadTopic             = "bad_topic"
	CodeBadCursor            = "bad_cursor"
	CodeUnauthorized         = "unauthorized"
	CodeTokenExpired         = "token_expired"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRateLimited          = "rate_limited"
	CodeOverCapacity         = "over_capacity"
	CodeBusUnavailable       = "bus_unavailable"
	CodeInternal             = "internal"
	// CodeUnknownOp is a WebSocket frame's op the relay does not know.
	CodeUnknownOp = "unknown_op"
)

// Entry is one code of the catalogue and the HTTP status it is answered
// with (WebSocket error frames carry the code alone).
type Entry struct {
	Code   string
	Status int
}

// Catalogue lists every code with its status, for the docs check and for
// anyone who needs the whole set.
func Catalogue() []Entry {
	return []Entry{
		{CodeBadRequest, http.StatusBadRequest},
		{CodeBadTopic, http.StatusBadRequest},
		{CodeBadCursor, http.StatusBadRequest},
		{CodeUnauthorized, http.StatusUnauthorized},
		{CodeTokenExpired, http.StatusUnauthorized},
		{CodeForbidden, http.StatusForbidden},
		{CodeNotFound, http.StatusNotFound},
		{CodeMethodNotAllowed, http.StatusMethodNotAllowed},
		{CodeTooLarge, http.StatusRequestEntityTooLarge},
		{CodeUnsupportedMediaType, http.StatusUnsupportedMediaType},
		{CodeRateLimited, http.StatusTooManyRequests},
		{CodeOverCapacity, http.StatusServiceUnavailable},
		{CodeBusUnavailable, http.StatusServiceUnavailable},
		{CodeInternal, http.StatusInternalServerError},
		{CodeUnknownOp, http.StatusBadRequest},
	}
}

// BusRetryAfter is the Retry-After sent with bus_unavailable, by the API
// and the webhook endpoint alike: long enough for a Redis failover to make
// progress, short enough that a producer's retry lands soon after it.
const BusRetryAfter = 2 * time.Second

// CapacityRetryAfter is the Retry-After sent with over_capacity (and by
// readiness): a reconnecting client should try another node first.
const CapacityRetryAfter = 5 * time.Second

// Error is one entry of the catalogue. Handlers return it (or an error the
// entry point's classifier maps to it); Write renders it.
type Error struct {
	Code    string
	Status  int
	Message string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up).
	RetryAfter time.Duration
	// Cause is logged, never sent.
	Cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap exposes the cause to errors.Is/As.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an entry with a formatted message.
func Errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an entry whose message is msg and whose cause is err.
func Wrap(code string, status int, msg string, err error) *Error {
	return &Error{Code: code, Status: status, Message: msg, Cause: err}
}

// BadRequest is 400 bad_request.
func BadRequest(format string, args ...any) *Error {
	return Errorf(CodeBadRequest, http.StatusBadRequest, format, args...)
}

// Forbidden is 403 forbidden.
func Forbidden(format string, args ...any) *Error {
	return Errorf(CodeForbidden, http.StatusForbidden, format, args...)
}

// NotFound is 404 not_found.
func NotFound(format string, args ...any) *Error {
	return Errorf(CodeNotFound, http.StatusNotFound, format, args...)
}

// MethodNotAllowed is 405 method_not_allowed, naming the methods allowed.
func MethodNotAllowed(allowed string) *Error {
	return Errorf(CodeMethodNotAllowed, http.StatusMethodNotAllowed, "use %s", allowed)
}

// TooLarge is 413 too_large for a body over limit bytes.
func TooLarge(limit int64) *Error {
	return Errorf(CodeTooLarge, http.StatusRequestEntityTooLarge, "request body over the limit of %d bytes", limit)
}

// RateLimited is 429 with Retry-After wait (at least a second).
func RateLimited(wait time.Duration, format string, args ...any) *Error {
	e := Errorf(CodeRateLimited, http.StatusTooManyRequests, format, args...)
	e.RetryAfter = max(wait, time.Second)
	return e
}

// OverCapacity is 503 with Retry-After: the node holds as many connections
// as it may.
func OverCapacity() *Error {
	e := Errorf(CodeOverCapacity, http.StatusServiceUnavailable, "this relay is at its connection limit; retry (another node) later")
	e.RetryAfter = CapacityRetryAfter
	return e
}

// BusUnavailable is 503 with Retry-After BusRetryAfter: nothing was
// stored, and the same request (same idempotency keys or delivery id)
// may be sent again.
func BusUnavailable(msg string, cause error) *Error {
	return &Error{Code: CodeBusUnavailable, Status: http.StatusServiceUnavailable, Message: msg, RetryAfter: BusRetryAfter, Cause: cause}
}

// Internal is 500; the cause is logged, never sent.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Status: http.StatusInternalServerError, Message: "internal error", Cause: cause}
}

// Body is the JSON form of an answer other than success.
type Body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
}

// JSON is e's body, newline-terminated, for entry points that build their
// answer themselves (the Lambda HTTP adapter).
func (e *Error) JSON() []byte {
	var b Body
	b.Error.Code, b.Error.Message, b.Error.Status = e.Code, e.Message, e.Status
	out, err := json.Marshal(b)
	if err != nil {
		// Three plain fields always marshal; keep the answer valid anyway.
		return []byte(`{"error":{"code":"internal","message":"internal error","status":500}}` + "\n")
	}
	return append(out, '\n')
}

// Header sets the headers e's answer carries: Retry-After,
// WWW-Authenticate on 401 (unless already set), and the JSON content headers.
func (e *Error) Header(h http.Header) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if e.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		// A caller that asked for another scheme (a webhook source with
		// basic auth) has set its own challenge already.
		h.Set("WWW-Authenticate", `Bearer realm="hookrelay"`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Write renders e as the answer: the one place an error becomes a
// response.
func Write(w http.ResponseWriter, e *Error) {
	e.Header(w.Header())
	w.WriteHeader(e.Status)
	// The status line is out; a failed body write has nowhere to go.
	_, _ = w.Write(e.JSON())
}
