package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// Error codes: stable strings clients switch on (docs/protocol.md).
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
)

// BusRetryAfter is the Retry-After sent with bus_unavailable: long enough
// for a Redis failover to make progress, short enough that a producer's
// retry lands soon after it.
const BusRetryAfter = 2 * time.Second

// CapacityRetryAfter is the Retry-After sent with over_capacity (and by
// readiness): a reconnecting client should try another node first.
const CapacityRetryAfter = 5 * time.Second

// Error is one entry of the error catalogue. Handlers return it (or any
// error, which Classify maps); Write renders it, the only place an error
// becomes JSON.
type Error struct {
	Code    string
	Status  int
	Message string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up).
	RetryAfter time.Duration
	// cause is logged for internal errors, never sent.
	cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap exposes the cause to errors.Is/As.
func (e *Error) Unwrap() error { return e.cause }

// Errorf builds a catalogue error with a formatted message.
func Errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Constructors for the common cases.
func badRequest(format string, args ...any) *Error {
	return Errorf(CodeBadRequest, http.StatusBadRequest, format, args...)
}

func forbidden(format string, args ...any) *Error {
	return Errorf(CodeForbidden, http.StatusForbidden, format, args...)
}

// RateLimited is 429 with Retry-After wait.
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

// Classify maps any error to a catalogue entry: *Error as is, then the
// sentinel errors of the packages the API calls. Anything unknown is
// internal (500) and its text is not sent.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *event.TopicError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		return &Error{Code: CodeBadTopic, Status: http.StatusBadRequest, Message: te.Error(), cause: err}
	case errors.Is(err, event.ErrCursor):
		return &Error{Code: CodeBadCursor, Status: http.StatusBadRequest, Message: err.Error(), cause: err}
	case errors.Is(err, auth.ErrExpired):
		return &Error{Code: CodeTokenExpired, Status: http.StatusUnauthorized, Message: "token expired: fetch a fresh one", cause: err}
	case errors.Is(err, auth.ErrNoCredentials):
		return &Error{Code: CodeUnauthorized, Status: http.StatusUnauthorized, Message: "credentials required: Authorization: Bearer <token or API key>", cause: err}
	case errors.Is(err, auth.ErrInvalidToken):
		return &Error{Code: CodeUnauthorized, Status: http.StatusUnauthorized, Message: err.Error(), cause: err}
	case errors.As(err, &mbe):
		return &Error{Code: CodeTooLarge, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("request body over the limit of %d bytes", mbe.Limit), cause: err}
	case errors.Is(err, bus.ErrUnavailable), errors.Is(err, bus.ErrClosed):
		return &Error{Code: CodeBusUnavailable, Status: http.StatusServiceUnavailable,
			Message: "event bus unavailable; retry (with the same idempotency keys)", RetryAfter: BusRetryAfter, cause: err}
	case errors.Is(err, bus.ErrInvalid):
		return &Error{Code: CodeBadRequest, Status: http.StatusBadRequest, Message: err.Error(), cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeBusUnavailable, Status: http.StatusServiceUnavailable,
			Message: "timed out; retry", RetryAfter: BusRetryAfter, cause: err}
	}
	return &Error{Code: CodeInternal, Status: http.StatusInternalServerError, Message: "internal error", cause: err}
}

// errorBody is the JSON form: {"error":{"code","message","status"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
}

// WriteError renders err as the catalogue's JSON answer. It is the one
// place an error becomes a response; it returns the entry it wrote so the
// caller can log and count it.
func WriteError(w http.ResponseWriter, err error) *Error {
	e := Classify(err)
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Status = e.Code, e.Message, e.Status
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="hookrelay"`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	// The status line is out; a failed body write has nowhere to go.
	_ = json.NewEncoder(w).Encode(body)
	return e
}
