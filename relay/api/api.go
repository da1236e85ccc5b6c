package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
)

// Capacity is what readiness and the connection routes ask the hub
// (*hub.Hub implements it).
type Capacity interface {
	OverCapacity() bool
	Connections() int
}

// Limiter is a keyed token bucket (*limit.Keyed implements it). AllowN is
// all or nothing; false with retryAfter 0 means n can never pass (it is
// above the burst).
type Limiter interface {
	AllowN(key string, n int) (ok bool, retryAfter time.Duration)
}

// Deps is everything the routes need; main builds it. Bus, Auth and Hub
// are required, the rest optional.
type Deps struct {
	Bus bus.Bus
	Hub Capacity
	// Auth authenticates subscriber and publisher tokens (auth.AllowAll in
	// relay dev without a token key).
	Auth auth.Authenticator
	// APIKeys authenticate POST /v1/publish for backends.
	APIKeys *auth.APIKeys
	// Origins answers CORS on the API routes; nil allows only same-origin
	// and non-browser callers.
	Origins *auth.Origins
	// PublishLimit rate-limits publishing per API key / token subject, one
	// token per event; nil means unlimited.
	PublishLimit Limiter
	// Policy bounds token publishers: rate, dedup TTL, distinct topics.
	Policy PublishPolicy
	// ReadLimit rate-limits the per-topic read routes (history, read,
	// unread) per token subject, one token per request; nil means
	// unlimited (HOOKRELAY_READ_RATE).
	ReadLimit Limiter
	// HistorySlots caps concurrent history requests per token subject
	// (key = subject) and per node (key = historyNodeKey); nil means
	// unlimited (HOOKRELAY_HISTORY_CONCURRENCY[_PER_SUBJECT]).
	HistorySubjectSlots, HistoryNodeSlots ConcurrencyLimiter
	// ConnLimit caps concurrent SSE/WS connections per client address
	// (HOOKRELAY_CONNECTIONS_PER_IP); ClientIP picks the key (default the
	// peer address). nil means unlimited.
	ConnLimit ConcurrencyLimiter
	ClientIP  func(*http.Request) string
	// HookFailures limits refused webhook deliveries per client address
	// (ClientIP), one token per refusal; an address with none left is
	// answered 429 before its body is read. nil means unlimited
	// (HOOKRELAY_WEBHOOK_FAILURE_RATE).
	HookFailures FailureLimiter
	// Presence serves GET /v1/topics/{topic}/presence; nil: 404 for every
	// topic.
	Presence PresenceReader
	// MaxBodyBytes bounds a publish or read request body (default 1 MiB).
	MaxBodyBytes int64
	// Draining reports that the process is shutting down: readiness fails.
	Draining func() bool

	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// Metrics serves GET /metrics; nil leaves it unmounted.
	Metrics http.Handler

	// Transports and extra handlers, mounted when set.
	SSE   http.Handler // GET /v1/sse
	WS    http.Handler // GET /v1/ws
	Hooks http.Handler // POST /hooks/{source}
	Demo  http.Handler // /demo/ (relay dev only)
	// Console serves /console/ (relay/console); it bounds its own
	// requests, as its live tail is long-lived.
	Console http.Handler
	Web     http.Handler // everything else under / (demo pages, hookrelay.js)
}

// DefaultMaxBodyBytes bounds request bodies when Deps.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// requestTimeout bounds reading a request body and writing the answer on
// the short-lived routes (API, webhooks): the server has no global
// read/write timeout because streams live for hours, so a client trickling
// a body byte by byte is cut here instead.
const requestTimeout = 30 * time.Second

// readyTimeout bounds the bus check behind /readyz: a health check that
// hangs is worse than one that fails.
const readyTimeout = 2 * time.Second

// server holds the dependencies behind the routes.
type server struct {
	Deps
	m *metrics
	// keyPublishers holds each API key's publisher, built once: a
	// publish only looks its key up.
	keyPublishers map[string]*publisher
}

// handlerFunc is a route that returns its error instead of writing it, so
// rendering happens in one place (serveErr).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New returns the relay's HTTP handler: every route of docs/protocol.md.
func New(d Deps) http.Handler {
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ClientIP == nil {
		d.ClientIP = peerIP
	}
	if d.Draining == nil {
		d.Draining = func() bool { return false }
	}
	s := &server{Deps: d, m: newMetrics(d.Registerer), keyPublishers: map[string]*publisher{}}
	for _, name := range d.APIKeys.Names() {
		s.keyPublishers[name] = keyPublisher(name)
	}
	mux := http.NewServeMux()

	mux.HandleFunc("GET "+HealthzPath, s.healthz)
	mux.HandleFunc("GET "+ReadyzPath, s.readyz)
	if d.Metrics != nil {
		mux.Handle("GET "+MetricsPath, d.Metrics)
	}

	mux.Handle("POST "+PublishPath, s.api(s.publish))
	mux.Handle("GET "+TopicsPrefix+"{topic}/events", s.api(s.history))
	mux.Handle("PUT "+TopicsPrefix+"{topic}/read", s.api(s.markRead))
	mux.Handle("GET "+TopicsPrefix+"{topic}/unread", s.api(s.unread))
	mux.Handle("GET "+TopicsPrefix+"{topic}"+presenceSuffix, s.api(s.presence))

	if d.SSE != nil {
		mux.Handle("GET "+SSEPath, s.connections(d.SSE))
	}
	if d.WS != nil {
		mux.Handle("GET "+WSPath, s.connections(d.WS))
	}
	if d.Hooks != nil {
		// Every method: the webhook handler answers other methods with its
		// 405 + Allow: POST (docs/webhooks.md) instead of the web pages' 404.
		hooks := d.Hooks
		if d.HookFailures != nil {
			hooks = s.hookGuard(hooks)
		}
		mux.Handle(HooksPrefix+"{source}", bounded(hooks))
	}
	if d.Demo != nil {
		mux.Handle("/demo/", bounded(d.Demo))
	}
	if d.Console != nil {
		mux.Handle("/console", d.Console)
		mux.Handle("/console/", d.Console)
	}

	// Anything else under /v1/ is a JSON 404, or 405 for a known path with
	// the wrong method: the method-less patterns below are less specific
	// than the routes above, so they only catch other methods, OPTIONS
	// (CORS preflights, answered by s.api) included.
	notAllowed := s.api(func(http.ResponseWriter, *http.Request) error {
		return Errorf(CodeMethodNotAllowed, http.StatusMethodNotAllowed, "method not allowed on this path")
	})
	for _, p := range []string{PublishPath, TopicsPrefix + "{topic}/events", TopicsPrefix + "{topic}/read", TopicsPrefix + "{topic}/unread", TopicsPrefix + "{topic}" + presenceSuffix, SSEPath, WSPath} {
		mux.Handle(p, notAllowed)
	}
	mux.Handle("/v1/", s.api(func(_ http.ResponseWriter, r *http.Request) error {
		return Errorf(CodeNotFound, http.StatusNotFound, "no route %s %s", r.Method, r.URL.Path)
	}))
	if d.Web != nil {
		mux.Handle("/", d.Web)
	}
	return closeChunked(mux)
}

// api wraps an API route: CORS (403 for a disallowed origin), 204 for
// OPTIONS (preflights; CORS wrote the allowed methods and headers) and error
// rendering.
func (s *server) api(f handlerFunc) http.Handler {
	return bounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Origins != nil {
			if !s.Origins.CORS(w, r) {
				s.serveErr(w, r, forbidden("origin %q is not allowed (HOOKRELAY_ALLOWED_ORIGINS)", r.Header.Get("Origin")))
				return
			}
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := f(w, r); err != nil {
			s.serveErr(w, r, err)
		}
	}))
}

// bounded sets requestTimeout read and write deadlines on a short-lived
// request's connection (net/http resets them for the next request).
func bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(requestTimeout)
		// Not every ResponseWriter supports deadlines (HTTP/2 streams do
		// per stream, test recorders do not); without one the request just
		// runs unbounded, as before.
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		next.ServeHTTP(w, r)
	})
}

// serveErr writes err through the catalogue, logs server-side failures and
// counts every answer by code.
func (s *server) serveErr(w http.ResponseWriter, r *http.Request, err error) {
	e := WriteError(w, err)
	s.m.errors.WithLabelValues(e.Code).Inc()
	if e.Status >= 500 {
		s.Logger.Warn("api error", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
}

// connections guards the long-lived connection routes: a node at its
// connection cap refuses the stream as retryable (over_capacity), so the
// client comes back later (through the load balancer, likely to another
// node); an address over its own cap is refused the same way
// (rate_limited). The transports speak the refusal in their own protocol
// (Refuser): never a non-200 on SSE, which EventSource would take as final.
func (s *server) connections(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Hub != nil && s.Hub.OverCapacity() {
			s.refuse(w, r, next, NewRefusal(RefuseOverCapacity), OverCapacity())
			return
		}
		if s.ConnLimit != nil {
			s.perIP(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// peerIP is the connection's address without the port.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate returns the caller's grants from its token.
func (s *server) authenticate(ctx context.Context, r *http.Request) (*auth.Grants, error) {
	g, e := Authenticate(ctx, s.Auth, r)
	if e != nil {
		return nil, e // not a nil *Error in a non-nil error
	}
	return g, nil
}
