// Package webhook turns signed webhook deliveries into bus events: providers
// verify each sender's signature scheme on the exact raw body, rules (Go
// text/template, or a built-in preset) map a delivery to 1..n events, and
// Handler serves POST /hooks/{source}, answering 2xx only after the bus
// accepted every event. Redeliveries are deduplicated by the bus through
// idempotency keys derived from the sender's delivery id.
package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/event"
)

// DefaultMaxBodyBytes bounds a delivery's body when neither Options nor the
// source say otherwise (the ALB's limit is 1 MB too).
const DefaultMaxBodyBytes = 1 << 20

// Options configure New. Zero values mean the defaults.
type Options struct {
	// Resolve turns a secret reference (env:, file:, aws-sm://, aws-ssm://)
	// into its value; nil means every secret is a literal.
	Resolve func(ctx context.Context, ref string) (string, error)
	// MaxBodyBytes bounds a body for sources without max_body_bytes.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock for signature timestamps. Default time.Now.
	Now func() time.Time
	// Logger default slog.Default().
	Logger *slog.Logger
	// Metrics records every answer; nil records nothing. The relay passes
	// webhookprom's Prometheus collectors.
	Metrics Metrics
	// Observer, when set, is told about every answered delivery (the
	// delivery log); Via names this ingest path in its entries ("relay",
	// "lambda").
	Observer Observer
	Via      string
}

// Handler serves POST /hooks/{source}. It is safe for concurrent use.
type Handler struct {
	sources map[string]*source
	bus     bus.Publisher
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics
	// observer and via: see Options; observe.go.
	observer Observer
	via      string
}

// source is a compiled config.WebhookSource.
type source struct {
	name    string
	prov    provider
	basic   bool // answer 401 with WWW-Authenticate: Basic
	rules   []*rule
	maxBody int64
	// testSecret signs the console's test deliveries (testsend.go); it
	// never leaves the Handler.
	testSecret string
}

// New compiles sources (resolving their secrets through opts.Resolve) into
// a Handler publishing on b. Errors name the source and the key.
func New(ctx context.Context, sources []config.WebhookSource, b bus.Publisher, opts Options) (*Handler, error) {
	if b == nil {
		return nil, fmt.Errorf("webhook: nil bus")
	}
	h := &Handler{sources: make(map[string]*source, len(sources)), bus: b, now: opts.Now, log: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	for i, sc := range sources {
		s, err := compileSource(ctx, sc, maxBody, opts.Resolve)
		if err != nil {
			return nil, fmt.Errorf("sources[%d] (%q): %w", i, sc.Name, err)
		}
		if _, dup := h.sources[s.name]; dup {
			return nil, fmt.Errorf("sources[%d] (%q): name: used twice", i, sc.Name)
		}
		h.sources[s.name] = s
	}
	h.metrics = opts.Metrics
	h.observer, h.via = opts.Observer, opts.Via
	if h.metrics == nil {
		h.metrics = noMetrics{}
	}
	return h, nil
}

// Sources returns the configured source names, sorted (for start banners).
func (h *Handler) Sources() []string {
	names := make([]string, 0, len(h.sources))
	for n := range h.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func compileSource(ctx context.Context, sc config.WebhookSource, maxBody int64, resolve func(context.Context, string) (string, error)) (*source, error) {
	if !validSourceName(sc.Name) {
		return nil, fmt.Errorf("name: want 1-64 of [A-Za-z0-9_.-]")
	}
	if len(sc.Secrets) == 0 {
		return nil, fmt.Errorf("secrets: at least one is required (several allow rotation)")
	}
	secrets := make([]string, len(sc.Secrets))
	for j, ref := range sc.Secrets {
		v := ref
		if resolve != nil {
			var err error
			if v, err = resolve(ctx, ref); err != nil {
				return nil, fmt.Errorf("secrets[%d]: %w", j, err)
			}
		}
		if v == "" {
			return nil, fmt.Errorf("secrets[%d]: empty", j)
		}
		secrets[j] = v
	}
	if sc.Tolerance < 0 {
		return nil, fmt.Errorf("tolerance: must not be negative")
	}
	if sc.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("max_body_bytes: must not be negative")
	}
	if sc.Preset == "alertmanager" || sc.Preset == "grafana" {
		if sc.TypeField == "" && sc.TypeHeader == "" {
			sc.TypeField = "status"
		}
	}
	p, err := newProvider(sc, secrets)
	if err != nil {
		return nil, err
	}
	rules, err := compileRules(sc.Rules, "")
	if err != nil {
		return nil, err
	}
	if sc.Preset != "" {
		pr, err := presetRules(sc)
		if err != nil {
			return nil, err
		}
		compiled, err := compileRules(pr, "preset "+sc.Preset+" ")
		if err != nil {
			return nil, fmt.Errorf("preset: %w", err) // a bug in presets.go
		}
		rules = append(rules, compiled...)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("rules: none and no preset, so every delivery would be ignored")
	}
	s := &source{name: sc.Name, prov: p, basic: sc.Provider == "basic", rules: rules, maxBody: maxBody, testSecret: secrets[0]}
	if sc.MaxBodyBytes > 0 {
		s.maxBody = sc.MaxBodyBytes
	}
	return s, nil
}

func validSourceName(s string) bool {
	if s == "" || len(s) > 64 || len(s) > event.MaxSourceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
