package api

import (
	"net/http"
	"time"
)

// FailureLimiter is a keyed token bucket that can be looked at without
// spending (*limit.Keyed implements it).
type FailureLimiter interface {
	Limiter
	Empty(key string) (empty bool, retryAfter time.Duration)
}

// hookGuard bounds what failed webhook deliveries cost (M4 of the 2026-12
// review: unsigned 1 MiB bodies cost a read and an HMAC each, and /hooks had
// no limit). Each refused delivery (401: signature did not verify, 413:
// body too large) takes a token from its client address's bucket; an
// address with none left is answered 429 before its body is read. Only
// failures are charged, so senders whose signatures verify are never
// limited, and an address is never limited by another address's failures.
// Requests already in flight when the bucket empties still finish: the
// excess is bounded by the address's open connections.
func (s *server) hookGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := s.ClientIP(r)
		if empty, wait := s.HookFailures.Empty(key); empty {
			// Close instead of keeping the connection: net/http would
			// otherwise read (and discard) up to 256 KiB of the body to
			// reuse it.
			w.Header().Set("Connection", "close")
			s.serveErr(w, r, RateLimited(wait, "too many refused webhook deliveries from this address (HOOKRELAY_WEBHOOK_FAILURE_RATE)"))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized || sw.status == http.StatusRequestEntityTooLarge {
			// All or nothing, and nothing to give back: an empty bucket
			// stays empty, which is the point.
			s.HookFailures.AllowN(key, 1)
		}
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
