// Package ws serves GET /v1/ws: a WebSocket speaking hookrelay's JSON frames
// (subscribe, unsubscribe, publish, auth; events, acks and errors). It is a
// thin Sink over relay/hub: a reader goroutine runs only while client bytes
// are there to read (an idle connection waits in an epoll set, see
// poller_linux.go and reader.go), and the hub's writer (running only while
// there is something to write) is the one goroutine that writes.
package ws

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/hub"
	relaypresence "github.com/hookrelay/hookrelay/relay/presence"
)

// Options configure the handler. Zero values mean the defaults.
type Options struct {
	Ping, PongWait, WriteTimeout time.Duration
	// MessageTimeout bounds the time from a data frame's header to the end
	// of its message; pongs do not extend it (default 10 s).
	MessageTimeout time.Duration
	ReadLimit      int64
	Compression    bool
	// Auth authenticates the upgrade request; nil refuses every request
	// with 401 (wire auth.AllowAll explicitly for development).
	Auth auth.Authenticator
	// Verifier checks tokens of "auth" frames; nil answers them with an
	// error frame.
	Verifier auth.TokenVerifier
	// CheckOrigin allows a browser origin; nil allows only same-origin
	// requests (and clients that send no Origin, which are not browsers).
	CheckOrigin func(r *http.Request) bool
	// PublishLimit, when set, is asked before every publish with the
	// grants' subject as key; false answers rate_limited.
	PublishLimit func(key string) (bool, time.Duration)
	// NewTopics, when set, is asked before every publish whether the key
	// may publish to the topic (distinct topics per hour).
	NewTopics func(key string, topics ...string) bool
	// DedupTTL is how long a publish's idempotency key is remembered (0:
	// the bus's dedup TTL).
	DedupTTL      time.Duration
	MaxEventBytes int
	// Presence, when set, makes subscribers of presence topics members
	// and, with "presence": true on subscribe, watchers.
	Presence   *relaypresence.Tracker
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Defaults (docs/protocol.md).
const (
	DefaultPing     = 25 * time.Second
	DefaultPongWait = 60 * time.Second
	// DefaultMessageTimeout: a client that started a message has this long
	// to finish it (L3 of the 2026-12 review: pongs kept an incomplete
	// message and its buffer open forever).
	DefaultMessageTimeout = 10 * time.Second
	DefaultReadLimit      = 64 << 10
	DefaultMaxEventBytes  = 64 << 10
	// opTimeout bounds one request's bus calls (subscribe replay, publish).
	opTimeout = 30 * time.Second
)

type handler struct {
	h   *hub.Hub
	o   Options
	log *slog.Logger
	m   *metrics
	up  websocket.Upgrader

	// park is the epoll set idle connections wait in (poller_linux.go),
	// made on first use; nil where it is unavailable.
	parkOnce sync.Once
	park     *poller
	// frames are events-frame buffers shared by all connections
	// (rawframe.go): an idle connection holds none.
	frames sync.Pool
}

func (s *handler) poller() *poller {
	s.parkOnce.Do(func() {
		p, err := newPoller()
		if err != nil {
			s.log.Debug("ws: idle connections keep a goroutine", "err", err)
			return
		}
		s.park = p
	})
	return s.park
}

// NewHandler returns the GET /v1/ws handler.
func NewHandler(h *hub.Hub, o Options) http.Handler {
	if o.Ping <= 0 {
		o.Ping = DefaultPing
	}
	if o.MessageTimeout <= 0 {
		o.MessageTimeout = DefaultMessageTimeout
	}
	if o.PongWait <= 0 {
		o.PongWait = DefaultPongWait
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = h.Options().WriteTimeout // the hub's, default 10 s
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CheckOrigin == nil {
		o.CheckOrigin = sameOrigin
	}
	s := &handler{h: h, o: o, log: o.Logger, m: newMetrics(o.Registerer)}
	s.frames.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.up = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// 0: reuse the hijacked reader, which hijacker (reader.go)
		// makes a small one of our own.
		ReadBufferSize:    0,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: o.Compression,
		CheckOrigin:       o.CheckOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			s.fail(w, status, "bad_request", reason.Error(), 0)
		},
	}
	return s
}

// sameOrigin allows requests without Origin (not a browser) and those whose
// Origin host is the request's Host.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func (s *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		s.fail(w, http.StatusBadRequest, "bad_request", "expected a WebSocket upgrade", 0)
		return
	}
	if !s.o.CheckOrigin(r) {
		s.fail(w, http.StatusForbidden, "forbidden", "origin not allowed", 0)
		return
	}
	grants, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	sk := &sink{writeTimeout: s.o.WriteTimeout, raw: !s.o.Compression, bufs: &s.frames}
	c, err := s.h.Admit("ws", sk)
	if err != nil {
		s.Refuse(w, r, refusalOf(err))
		return
	}
	hj := &hijacker{ResponseWriter: w, writeTimeout: s.o.WriteTimeout}
	conn, err := s.up.Upgrade(hj, r, nil)
	if err != nil {
		// Upgrade answered the request already.
		c.Close()
		return
	}
	if !sk.attach(conn, hj.under) {
		c.Close()
		return
	}
	conn.SetReadLimit(s.o.ReadLimit)
	conn.EnableWriteCompression(s.o.Compression)
	c.SetExpiry(grants.ExpiresAt)
	c.SetPing(s.o.Ping)
	s.m.conns.Inc()
	// The reader runs on a fresh goroutine so that this one returns: that
	// releases net/http's request, response and bufio buffers, and a stack
	// grown by the handshake, which an idle connection would otherwise
	// keep (22 KB -> see BenchmarkIdleMemory).
	sess := &session{s: s, c: c, conn: conn, grants: grants, br: hj.br, raw: hj.raw}
	go sess.run()
}

func (s *handler) authenticate(w http.ResponseWriter, r *http.Request) (*auth.Grants, bool) {
	if s.o.Auth == nil {
		s.fail(w, http.StatusUnauthorized, "unauthorized", "no authenticator configured", 0)
		return nil, false
	}
	g, err := s.o.Auth.Authenticate(r.Context(), r)
	switch {
	case err == nil && g != nil:
		return g, true
	case errors.Is(err, auth.ErrExpired):
		s.fail(w, http.StatusUnauthorized, "token_expired", "token expired", 0)
	case err == nil, errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrInvalidToken):
		s.fail(w, http.StatusUnauthorized, "unauthorized", "missing or invalid token", 0)
	default:
		s.log.Error("ws authenticate", "err", err)
		s.fail(w, http.StatusInternalServerError, "internal", "could not check credentials", 0)
	}
	return nil, false
}

// fail writes the relay's JSON error shape before the upgrade.
func (s *handler) fail(w http.ResponseWriter, status int, code, msg string, retryAfter time.Duration) {
	s.m.rejects.WithLabelValues(code).Inc()
	// The same catalogue rendering as every other route (relay/api).
	api.WriteError(w, &api.Error{Code: code, Status: status, Message: msg, RetryAfter: retryAfter})
}
