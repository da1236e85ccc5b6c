package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// Error is the catalogue's entry (infra/apierr); the relay's handlers,
// SSE and WebSocket return and render it.
type Error = apierr.Error

// Codes of the catalogue, named here for the relay's handlers and tests.
const (
	CodeBadRequest           = apierr.CodeBadRequest
	CodeBadTopic             = apierr.CodeBadTopic
	CodeBadCursor            = apierr.CodeBadCursor
	CodeUnauthorized         = apierr.CodeUnauthorized
	CodeTokenExpired         = apierr.CodeTokenExpired
	CodeForbidden            = apierr.CodeForbidden
	CodeNotFound             = apierr.CodeNotFound
	CodeMethodNotAllowed     = apierr.CodeMethodNotAllowed
	CodeTooLarge             = apierr.CodeTooLarge
	CodeUnsupportedMediaType = apierr.CodeUnsupportedMediaType
	CodeRateLimited          = apierr.CodeRateLimited
	CodeOverCapacity         = apierr.CodeOverCapacity
	CodeBusUnavailable       = apierr.CodeBusUnavailable
	CodeInternal             = apierr.CodeInternal
)

// Retry hints of the catalogue.
const (
	BusRetryAfter      = apierr.BusRetryAfter
	CapacityRetryAfter = apierr.CapacityRetryAfter
)

// Errorf builds a catalogue entry with a formatted message.
func Errorf(code string, status int, format string, args ...any) *Error {
	return apierr.Errorf(code, status, format, args...)
}

func badRequest(format string, args ...any) *Error { return apierr.BadRequest(format, args...) }

func forbidden(format string, args ...any) *Error { return apierr.Forbidden(format, args...) }

// RateLimited is 429 with Retry-After wait.
func RateLimited(wait time.Duration, format string, args ...any) *Error {
	return apierr.RateLimited(wait, format, args...)
}

// OverCapacity is 503 with Retry-After: the node holds as many connections
// as it may.
func OverCapacity() *Error { return apierr.OverCapacity() }

// Classify maps any error the relay meets to a catalogue entry: *Error as
// is, then the sentinel errors of the packages the relay calls (event,
// auth, bus, hub). Anything unknown is internal (500) and its text is not
// sent. SSE, WebSocket and the HTTP API all classify here.
func Classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *event.TopicError
	var fe *event.FieldError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		return apierr.Wrap(CodeBadTopic, http.StatusBadRequest, te.Error(), err)
	case errors.Is(err, event.ErrCursor):
		return apierr.Wrap(CodeBadCursor, http.StatusBadRequest, err.Error(), err)
	case errors.As(err, &fe):
		return apierr.Wrap(CodeBadRequest, http.StatusBadRequest, fe.Error(), err)
	case errors.Is(err, auth.ErrExpired):
		return apierr.Wrap(CodeTokenExpired, http.StatusUnauthorized, "token expired: fetch a fresh one", err)
	case errors.Is(err, auth.ErrNoCredentials):
		return apierr.Wrap(CodeUnauthorized, http.StatusUnauthorized, "credentials required: Authorization: Bearer <token or API key>", err)
	case errors.Is(err, auth.ErrInvalidToken):
		return apierr.Wrap(CodeUnauthorized, http.StatusUnauthorized, err.Error(), err)
	case errors.As(err, &mbe):
		e := apierr.TooLarge(mbe.Limit)
		e.Cause = err
		return e
	case bus.Retryable(err):
		return apierr.BusUnavailable("event bus unavailable; retry (with the same idempotency keys)", err)
	case errors.Is(err, bus.ErrInvalid):
		return apierr.Wrap(CodeBadRequest, http.StatusBadRequest, err.Error(), err)
	case errors.Is(err, context.DeadlineExceeded):
		return apierr.BusUnavailable("timed out; retry", err)
	case errors.Is(err, hub.ErrTooManyTopics):
		// A topic-list rule, like an invalid topic: SSE's and WS's own
		// count checks answer the same.
		return apierr.Wrap(CodeBadTopic, http.StatusBadRequest, err.Error(), err)
	case errors.Is(err, hub.ErrAlreadySubscribed):
		return apierr.Wrap(CodeBadRequest, http.StatusBadRequest, err.Error(), err)
	case errors.Is(err, hub.ErrOverCapacity), errors.Is(err, hub.ErrDraining):
		e := apierr.OverCapacity()
		e.Cause = err
		return e
	}
	return apierr.Internal(err)
}

// WriteError renders err as the catalogue's JSON answer. It is the one
// place the relay turns an error into a response; it returns the entry it
// wrote so the caller can log and count it.
func WriteError(w http.ResponseWriter, err error) *Error {
	e := Classify(err)
	apierr.Write(w, e)
	return e
}
