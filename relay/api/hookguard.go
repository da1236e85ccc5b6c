package api

import (
	"net/http"
	"time"
)

// FailureLimiter is a keyed token bucket that charges some outcomes only
// (*limit.Keyed implements it): Hold before the work, AllowN to charge
// afterwards when Hold held nothing (see limit.Keyed.Hold).
type FailureLimiter interface {
	Limiter
	Hold(key string) (release func(), ok bool, retryAfter time.Duration)
}

// hookGuard bounds what failed webhook deliveries cost (M4 of the 2026-12
// review: unsigned 1 MiB bodies cost a read and an HMAC each, and /hooks had
// no limit). Each refused delivery (401: signature did not verify, 413:
// body too large) takes a token from its client address's bucket; an
// address with none left is answered 429 before its body is read. Only
// failures are charged, so senders whose signatures verify are never
// limited, and an address is never limited by another address's failures.
// Once an address has failed, each of its requests holds a token while it
// runs (given back unless refused), so concurrent requests cannot all pass
// on the last one.
func (s *server) hookGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := s.ClientIP(r)
		release, ok, wait := s.HookFailures.Hold(key)
		if !ok {
			// Close instead of keeping the connection: net/http would
			// otherwise read (and discard) up to 256 KiB of the body to
			// reuse it.
			w.Header().Set("Connection", "close")
			s.serveErr(w, r, RateLimited(wait, "too many refused webhook deliveries from this address (HOOKRELAY_WEBHOOK_FAILURE_RATE)"))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		refused := sw.status == http.StatusUnauthorized || sw.status == http.StatusRequestEntityTooLarge
		switch {
		case refused && release == nil:
			// Nothing was held (the bucket was full): charge now. All or
			// nothing, so an emptied bucket stays empty.
			s.HookFailures.AllowN(key, 1)
		case !refused && release != nil:
			release()
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
