// Package app wires one relay from its configuration: the bus, the hub,
// auth, the API and its transports, the webhook handler, the operator
// console with its fleet record and delivery log, presence, and the
// graceful drain. The relay binary (package main) parses the command line,
// builds an App with New and serves with Run; relay dev's extras come from
// relay/devmode.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/infra/telemetry"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/infra/webhook/webhookprom"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/devmode"
	"github.com/hookrelay/hookrelay/relay/hub"
	relaypresence "github.com/hookrelay/hookrelay/relay/presence"
	"github.com/hookrelay/hookrelay/relay/sse"
	"github.com/hookrelay/hookrelay/relay/web"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// HTTP server limits. Streams are long-lived, so there is no read or write
// timeout on the whole request; the transports set per-write deadlines.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	// maxHeaderBytes leaves room for a token in a cookie and in the
	// Authorization header (auth.MaxTokenBytes each) and little else.
	maxHeaderBytes = 64 << 10
	// publishLimitIdle forgets a publisher's bucket after this long idle.
	publishLimitIdle = 10 * time.Minute
)

// App is one running relay: everything the relay binary wires together.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	bus     bus.Bus
	busKind string // "memory" or "redis", for the banner and logs
	hub     *hub.Hub
	hooks   *webhook.Handler
	tokens  *auth.TokenAuth // nil without a token key / JWKS
	anyone  bool            // auth.AllowAll is wired (dev without a token key)
	// demoKey signs relay dev's demo and banner tokens: derived from the
	// configured key (devmode.KeyFor), verified by dev relays only, so tokens
	// handed out by dev never verify on a relay serve sharing the key (M5).
	demoKey string
	// devSources is set when relay dev uses its built-in webhook sources.
	devSources bool
	handler    http.Handler
	srv        *http.Server
	// metricsSrv serves /metrics on metrics_addr; nil without it.
	metricsSrv *http.Server
	draining   atomic.Bool
	// closing is closed when the drain starts (ends the console's tails).
	closing chan struct{}
	// op is the delivery log, fleet record and console (operator.go).
	op operator
	// presence is nil unless presence_topics is set (presence_wire.go).
	presence      *relaypresence.Tracker
	presenceStore presence.Store
}

// New builds the bus, hub, auth, handlers and the http.Server.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, reg: telemetry.NewRegistry(), closing: make(chan struct{})}
	var err error
	if a.bus, a.busKind, err = openBus(ctx, cfg, log, a.reg); err != nil {
		return nil, err
	}
	if err := a.openOperator(); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", cfg.Key("delivery_log_redact"), err)
	}
	if a.op.dlog != nil {
		registerDeliveryLogStats(a.reg, a.op.dlog)
	}
	deps, err := a.buildDeps(ctx)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.handler = api.New(deps)
	a.srv = httpServer(a.handler, log)
	a.metricsSrv = a.newMetricsServer()
	return a, nil
}

// httpServer is an HTTP server with the relay's limits, for h: the public
// listener's and the metrics listener's.
func httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// buildDeps wires auth, the hub, the transports and the webhook handler
// into the API's dependencies.
func (a *App) buildDeps(ctx context.Context) (api.Deps, error) {
	cfg, log := a.cfg, a.log
	authn, verifier, err := a.buildAuth()
	if err != nil {
		return api.Deps{}, err
	}
	keys, origins, err := apiKeysAndOrigins(cfg)
	if err != nil {
		return api.Deps{}, err
	}
	if err := a.buildPresence(); err != nil {
		return api.Deps{}, err
	}
	a.hub = hub.New(a.bus, hub.Options{
		OnClose:        a.presence.Forget, // nil-safe: no-op without presence
		QueueSize:      cfg.ClientQueueSize,
		MaxTopics:      cfg.MaxTopicsPerConnection,
		MaxConnections: cfg.MaxConnections,
		WriteTimeout:   cfg.WriteTimeout,
		Logger:         log,
		Registerer:     a.reg,
	})
	if err := a.buildHooks(ctx); err != nil {
		return api.Deps{}, err
	}
	var publishLimit *limit.Keyed
	if cfg.PublishRate > 0 {
		publishLimit = limit.NewKeyed(cfg.PublishRate, cfg.PublishBurst, publishLimitIdle)
	}
	// Token publishers share one budget across HTTP and WebSocket.
	tokenLim, topics := tokenLimit(cfg, publishLimit), tokenTopics(cfg)
	deps := api.Deps{
		Bus:          a.bus,
		Hub:          a.hub,
		Auth:         authn,
		APIKeys:      keys,
		Origins:      origins,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Draining:     a.draining.Load,
		Logger:       log,
		Registerer:   a.reg,
		SSE: sse.NewHandler(a.hub, sse.Options{
			Heartbeat:    cfg.Heartbeat,
			WriteTimeout: cfg.WriteTimeout,
			Auth:         authn,
			CORS:         origins.CORS,
			Presence:     a.presence,
			Logger:       log,
			Registerer:   a.reg,
		}),
		WS: ws.NewHandler(a.hub, ws.Options{
			Ping:           cfg.WSPing,
			WriteTimeout:   cfg.WriteTimeout,
			ReadLimit:      cfg.WSReadLimit,
			Auth:           authn,
			Verifier:       verifier,
			CheckOrigin:    origins.Allowed,
			PublishLimit:   allowFunc(tokenLim),
			NewTopics:      topicsFunc(topics),
			DedupTTL:       cfg.TokenDedupTTL,
			MessageTimeout: cfg.WSMessageTimeout,
			SubscribeRate:  cfg.WSSubscribeRate,
			SubscribeBurst: cfg.WSSubscribeBurst,
			MaxEventBytes:  cfg.MaxEventBytes,
			Presence:       a.presence,
			Logger:         log,
			Registerer:     a.reg,
		}),
		Hooks: a.hooks,
		Web:   web.Handler(),
	}
	deps.Console = a.consoleHandler()
	if a.presence != nil {
		deps.Presence = a.presence // a nil *Tracker in the interface would not be nil
	}
	if publishLimit != nil {
		deps.PublishLimit = publishLimit // a nil *Keyed in the interface would not be nil
	}
	a.wireCosts(&deps, tokenLim, topics)
	// Behind the ALB (HOOKRELAY_TRUST_PROXY, set by the Terraform module)
	// the client is the last X-Forwarded-For entry; otherwise the peer. The
	// per-address limits (connections, refused webhooks) are keyed by it.
	trustProxy := cfg.TrustProxy
	deps.ClientIP = func(r *http.Request) string { return limit.IPKey(limit.ClientIP(r, trustProxy)) }
	if cfg.ConnectionsPerIP > 0 {
		deps.ConnLimit = limit.NewConcurrent(cfg.ConnectionsPerIP)
	}
	if cfg.MetricsEnabled && cfg.MetricsAddr == "" {
		deps.Metrics = a.metricsHandler()
	}
	if cfg.Mode == config.ModeDev {
		deps.Demo = devmode.NewDemo(cfg, a.demoKey, a.hooks, log)
	}
	return deps, nil
}

// apiKeysAndOrigins builds the publish keys and the origin allowlist.
func apiKeysAndOrigins(cfg *config.Config) (*auth.APIKeys, *auth.Origins, error) {
	apiKeys := make([]auth.APIKey, len(cfg.APIKeys))
	for i, k := range cfg.APIKeys {
		apiKeys[i] = auth.APIKey{Name: k.Name, Key: k.Key}
	}
	keys, err := auth.NewAPIKeys(apiKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Key("api_keys"), err)
	}
	origins, err := auth.NewOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Key("allowed_origins"), err)
	}
	// Same-host origins: in serve only https ones (browsers reach a
	// production relay over https); behind the ALB the scheme must be the
	// one X-Forwarded-Proto names.
	origins.SameHost = auth.SameHostPolicy{TrustProxy: cfg.TrustProxy, HTTPSOnly: cfg.Mode == config.ModeServe}
	return keys, origins, nil
}

// buildHooks compiles the webhook sources (relay dev's defaults when the
// config has none).
func (a *App) buildHooks(ctx context.Context) error {
	sources := a.cfg.Sources
	if a.cfg.Mode == config.ModeDev && len(sources) == 0 {
		sources, a.devSources = devmode.Sources(), true
	}
	m, err := webhookprom.New(a.reg)
	if err != nil {
		return fmt.Errorf("webhook metrics: %w", err)
	}
	opts := webhook.Options{
		Resolve:      a.cfg.Secrets().Resolve,
		MaxBodyBytes: a.cfg.MaxBodyBytes,
		Logger:       a.log,
		Metrics:      m,
		Via:          deliverylog.ViaRelay,
	}
	if a.op.dlog != nil {
		opts.Observer = a.op.dlog // a nil *Writer in the interface would not be nil
	}
	h, err := webhook.New(ctx, sources, a.bus, opts)
	if err != nil {
		return fmt.Errorf("webhook sources: %w", err)
	}
	a.hooks = h
	return nil
}

// allowFunc adapts a limiter to ws.Options.PublishLimit (nil: unlimited).
func allowFunc(l *limit.Keyed) func(string) (bool, time.Duration) {
	if l == nil {
		return nil
	}
	return l.Allow
}

// buildAuth picks the authenticator: tokens (HS256 keys and/or JWKS), or in
// dev without any, auth.AllowAll.
func (a *App) buildAuth() (auth.Authenticator, auth.TokenVerifier, error) {
	cfg := a.cfg
	if len(cfg.TokenKeys) == 0 && cfg.JWKSURL == "" && cfg.JWKSFile == "" {
		if cfg.Mode != config.ModeDev {
			return nil, nil, fmt.Errorf("%s: required by relay serve (or HOOKRELAY_JWKS_URL / HOOKRELAY_JWKS_FILE)", cfg.Key("token_key"))
		}
		a.anyone = true
		return devmode.LoopbackOnly{}, auth.AllowAll{}, nil
	}
	keys := cfg.TokenKeys
	if cfg.Mode == config.ModeDev && len(keys) > 0 {
		a.demoKey = devmode.KeyFor(cfg.SigningKey())
		keys = append(keys[:len(keys):len(keys)], a.demoKey)
	}
	t, err := auth.NewTokenAuth(auth.TokenOptions{
		HS256Keys: keys,
		Audience:  cfg.TokenAudience,
		JWKSURL:   cfg.JWKSURL,
		JWKSFile:  cfg.JWKSFile,
		Issuers:   cfg.TokenIssuers,
		MaxTTL:    cfg.MaxTokenTTL,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("token auth: %w", err)
	}
	a.tokens = t
	return t, t, nil
}

// closeBackends releases what New opened (after the server stopped).
func (a *App) Close() {
	a.closeMetrics()
	a.stopOperator()
	if a.hub != nil {
		a.hub.Close()
	}
	a.closePresence()
	if a.tokens != nil {
		a.tokens.Close()
	}
	if a.bus != nil {
		if err := a.bus.Close(); err != nil {
			a.log.Warn("close bus", "err", err)
		}
	}
}

// BusKind is "memory" or "redis", for logs.
func (a *App) BusKind() string { return a.busKind }

// Banner is what relay dev's banner says about this relay.
func (a *App) Banner() devmode.Banner {
	return devmode.Banner{
		BusKind:    a.busKind,
		Anyone:     a.anyone,
		DemoKey:    a.demoKey,
		Audience:   a.cfg.TokenAudience,
		DevSources: a.devSources,
		Console:    a.cfg.AdminKey != "",
	}
}
