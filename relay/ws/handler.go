// Package ws serves GET /v1/ws: a WebSocket speaking hookrelay's JSON frames
// (subscribe, unsubscribe, publish, auth; events, acks and errors). It is a
// thin Sink over relay/hub: a reader goroutine runs only while client bytes
// are there to read (an idle connection waits in an epoll set, see
// poller_linux.go and reader.go), and the hub's writer (running only while
// there is something to write) is the one goroutine that writes.
package ws

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/apierr"
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
	// AuthWait is how long a connection that brought no credential at all
	// has to send an "auth" frame (default 10 s); until then it holds no
	// grants, and at the end it is closed with 4001. Browsers send the
	// token in that first frame so it stays out of URLs and access logs.
	// Without a Verifier such handshakes are refused with 401.
	AuthWait time.Duration
	// CheckOrigin allows a browser origin; nil allows only same-origin
	// requests (and clients that send no Origin, which are not browsers).
	CheckOrigin func(r *http.Request) bool
	// PublishLimit, when set, is asked before every publish with the
	// grants' subject as key; false answers rate_limited.
	PublishLimit func(key string) (bool, time.Duration)
	// NewTopics, when set, is asked before every publish whether the key
	// may publish to the topic (distinct topics per hour).
	NewTopics func(key string, topics ...string) bool
	// SubscribeRate bounds subscribe and unsubscribe frames per connection,
	// in topics per second (a frame costs one per topic it names), with
	// SubscribeBurst capacity; over it a frame gets rate_limited. 0:
	// unlimited. SubscribeBurst must be at least the per-frame topic cap.
	SubscribeRate  float64
	SubscribeBurst int
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
	// DefaultAuthWait: a connection without credentials must authenticate
	// with its first frames within this.
	DefaultAuthWait      = 10 * time.Second
	DefaultMaxEventBytes = 64 << 10
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
	if o.AuthWait <= 0 {
		o.AuthWait = DefaultAuthWait
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.SubscribeRate > 0 {
		// A frame naming the most topics allowed must be able to pass.
		o.SubscribeBurst = max(o.SubscribeBurst, h.Options().MaxTopics, 1)
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
			s.fail(w, apierr.Errorf(apierr.CodeBadRequest, status, "%v", reason))
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
	if !s.checkUpgrade(w, r) {
		return
	}
	grants, e := api.Authenticate(r.Context(), s.o.Auth, r)
	if e != nil && s.authLater(r, e) {
		// No grants until an auth frame brings some; the expiry closes
		// the connection with 4001 if none comes.
		grants, e = &auth.Grants{ExpiresAt: time.Now().Add(s.o.AuthWait)}, nil
	}
	if e != nil {
		s.fail(w, e)
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

// authLater reports whether a handshake refused for want of credentials
// may be upgraded and authenticate with an "auth" frame: only when it
// brought no credential at all (a bad or expired one stays a 401) and auth
// frames can be verified.
func (s *handler) authLater(r *http.Request, e *apierr.Error) bool {
	return e.Code == apierr.CodeUnauthorized && s.o.Verifier != nil && auth.TokenFromRequest(r) == ""
}

// checkUpgrade answers a request that is no WebSocket upgrade, or comes
// from an origin not allowed, with the catalogue's JSON, and reports
// whether the request may go on.
func (s *handler) checkUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if !websocket.IsWebSocketUpgrade(r) {
		s.fail(w, apierr.BadRequest("expected a WebSocket upgrade"))
		return false
	}
	if !s.o.CheckOrigin(r) {
		s.fail(w, apierr.Forbidden("origin not allowed"))
		return false
	}
	return true
}

// fail answers before the upgrade with the catalogue's JSON (infra/apierr,
// the same rendering as every other route) and counts it; an internal
// error's cause is logged, never sent.
func (s *handler) fail(w http.ResponseWriter, e *apierr.Error) {
	if e.Code == apierr.CodeInternal {
		s.log.Error("ws request failed", "err", e.Cause)
	}
	s.m.rejects.WithLabelValues(e.Code).Inc()
	apierr.Write(w, e)
}
