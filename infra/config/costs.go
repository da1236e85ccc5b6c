package config

import (
	"strconv"
	"time"
)

// Cost bounds (docs/security.md, "Cost bounds"): every request's cost is
// bounded by one of these, so an attacker's ceiling is a rate, not a pile.
const (
	DefaultHistoryPageBytes          = 256 << 10
	DefaultReadRate                  = 20.0
	DefaultReadBurst                 = 40
	DefaultHistoryConcurrency        = 16
	DefaultHistoryConcurrencyPerSubj = 2
	DefaultTokenPublishRate          = 20.0
	DefaultTokenPublishBurst         = 100
	DefaultTokenDedupTTL             = 10 * time.Minute
	DefaultTokenTopicsPerHour        = 100
	DefaultWSMessageTimeout          = 10 * time.Second
	DefaultWebhookFailureRate        = 1.0
	DefaultWebhookFailureBurst       = 20
	// DefaultWSSubscribeRate / Burst: topics per second a WebSocket
	// connection may subscribe or unsubscribe, and the burst (two full
	// subscriptions of max_topics_per_connection). A person switching
	// rooms or pages needs a few per second.
	DefaultWSSubscribeRate  = 20.0
	DefaultWSSubscribeBurst = 200
)

// Costs are the settings that bound per-request cost.
type Costs struct {
	HistoryPageBytes          int64         // HOOKRELAY_HISTORY_PAGE_BYTES
	ReadRate                  float64       // HOOKRELAY_READ_RATE (requests/s per subject, 0 = unlimited)
	ReadBurst                 int           // HOOKRELAY_READ_BURST
	HistoryConcurrency        int           // HOOKRELAY_HISTORY_CONCURRENCY (per node, 0 = unlimited)
	HistoryConcurrencyPerSubj int           // HOOKRELAY_HISTORY_CONCURRENCY_PER_SUBJECT (0 = unlimited)
	TokenPublishRate          float64       // HOOKRELAY_TOKEN_PUBLISH_RATE (events/s per token subject, 0 = unlimited)
	TokenPublishBurst         int           // HOOKRELAY_TOKEN_PUBLISH_BURST
	TokenDedupTTL             time.Duration // HOOKRELAY_TOKEN_DEDUP_TTL
	TokenTopicsPerHour        int           // HOOKRELAY_TOKEN_TOPICS_PER_HOUR (0 = unlimited)
	WSMessageTimeout          time.Duration // HOOKRELAY_WS_MESSAGE_TIMEOUT
	WebhookFailureRate        float64       // HOOKRELAY_WEBHOOK_FAILURE_RATE (refused deliveries/s per client address, 0 = unlimited)
	WebhookFailureBurst       int           // HOOKRELAY_WEBHOOK_FAILURE_BURST
	WSSubscribeRate           float64       // HOOKRELAY_WS_SUBSCRIBE_RATE (topics/s per connection, 0 = unlimited)
	WSSubscribeBurst          int           // HOOKRELAY_WS_SUBSCRIBE_BURST
}

func defaultCosts() Costs {
	return Costs{
		HistoryPageBytes:          DefaultHistoryPageBytes,
		ReadRate:                  DefaultReadRate,
		ReadBurst:                 DefaultReadBurst,
		HistoryConcurrency:        DefaultHistoryConcurrency,
		HistoryConcurrencyPerSubj: DefaultHistoryConcurrencyPerSubj,
		TokenPublishRate:          DefaultTokenPublishRate,
		TokenPublishBurst:         DefaultTokenPublishBurst,
		TokenDedupTTL:             DefaultTokenDedupTTL,
		TokenTopicsPerHour:        DefaultTokenTopicsPerHour,
		WSMessageTimeout:          DefaultWSMessageTimeout,
		WebhookFailureRate:        DefaultWebhookFailureRate,
		WebhookFailureBurst:       DefaultWebhookFailureBurst,
		WSSubscribeRate:           DefaultWSSubscribeRate,
		WSSubscribeBurst:          DefaultWSSubscribeBurst,
	}
}

// float is out of line like settings.go's constructors (see str).
//
//go:noinline
func float(name, usage string, field func(*Config) *float64) *setting {
	return &setting{name: name, usage: usage, kind: "float",
		get: func(c *Config) string { return strconv.FormatFloat(*field(c), 'g', -1, 64) },
		set: func(c *Config, v string) error { return parseFloat(v, field(c)) }}
}

// costSettings are the knobs of Costs, in --help and docs order.
func costSettings() []*setting {
	return []*setting{
		byteSize("history_page_bytes", "largest history or replay page in bytes (a page also stops at its event count; one event always fits)", func(c *Config) *int64 { return &c.HistoryPageBytes }),
		float("read_rate", "history, read and unread requests per second per token subject (0 = unlimited)", func(c *Config) *float64 { return &c.ReadRate }),
		integer("read_burst", "burst of read_rate", func(c *Config) *int { return &c.ReadBurst }),
		integer("history_concurrency", "history requests served at once per node (0 = unlimited)", func(c *Config) *int { return &c.HistoryConcurrency }),
		integer("history_concurrency_per_subject", "history requests served at once per token subject (0 = unlimited)", func(c *Config) *int { return &c.HistoryConcurrencyPerSubj }),
		float("token_publish_rate", "publish rate per token subject (browsers), events/s, instead of publish_rate (0 = unlimited)", func(c *Config) *float64 { return &c.TokenPublishRate }),
		integer("token_publish_burst", "publish burst per token subject", func(c *Config) *int { return &c.TokenPublishBurst }),
		duration("token_dedup_ttl", "how long a token publisher's idempotency key is remembered (retries only need minutes)", func(c *Config) *time.Duration { return &c.TokenDedupTTL }),
		integer("token_topics_per_hour", "distinct topics one token subject may publish to per hour per node (0 = unlimited)", func(c *Config) *int { return &c.TokenTopicsPerHour }),
		float("webhook_failure_rate", "refused webhook deliveries (bad signature, body too large) per second per client address; past it the address gets 429 before its body is read (0 = unlimited)", func(c *Config) *float64 { return &c.WebhookFailureRate }),
		integer("webhook_failure_burst", "burst of webhook_failure_rate", func(c *Config) *int { return &c.WebhookFailureBurst }),
		duration("ws_message_timeout", "time a WebSocket client has to finish a message it started; pongs do not extend it", func(c *Config) *time.Duration { return &c.WSMessageTimeout }),
		float("ws_subscribe_rate", "topics per second one WebSocket connection may subscribe or unsubscribe (a frame costs one per topic; 0 = unlimited)", func(c *Config) *float64 { return &c.WSSubscribeRate }),
		integer("ws_subscribe_burst", "burst of ws_subscribe_rate, in topics (at least max_topics_per_connection)", func(c *Config) *int { return &c.WSSubscribeBurst }),
	}
}

// validateCosts checks the cost bounds.
func (c *Config) validateCosts(v *validator) {
	if c.HistoryPageBytes < 1024 || c.HistoryPageBytes > 1<<30 {
		v.fail("history_page_bytes", "%d must be from 1 KiB to 1 GiB", c.HistoryPageBytes)
	}
	for _, f := range []struct {
		name string
		val  float64
	}{
		{"read_rate", c.ReadRate}, {"token_publish_rate", c.TokenPublishRate},
		{"webhook_failure_rate", c.WebhookFailureRate},
		{"history_concurrency", float64(c.HistoryConcurrency)},
		{"history_concurrency_per_subject", float64(c.HistoryConcurrencyPerSubj)},
		{"token_topics_per_hour", float64(c.TokenTopicsPerHour)},
		{"ws_subscribe_rate", c.WSSubscribeRate},
	} {
		if f.val < 0 {
			v.fail(f.name, "%g must not be negative (0 = unlimited)", f.val)
		}
	}
	if c.ReadRate > 0 && c.ReadBurst < 1 {
		v.fail("read_burst", "%d must be at least 1 when %s is set", c.ReadBurst, c.Key("read_rate"))
	}
	if c.TokenPublishRate > 0 && c.TokenPublishBurst < 1 {
		v.fail("token_publish_burst", "%d must be at least 1 when %s is set", c.TokenPublishBurst, c.Key("token_publish_rate"))
	}
	if c.WebhookFailureRate > 0 && c.WebhookFailureBurst < 1 {
		v.fail("webhook_failure_burst", "%d must be at least 1 when %s is set", c.WebhookFailureBurst, c.Key("webhook_failure_rate"))
	}
	if c.WSSubscribeRate > 0 && c.WSSubscribeBurst < c.MaxTopicsPerConnection {
		v.fail("ws_subscribe_burst", "%d must be at least %s (%d) when %s is set, or a full subscribe could never pass",
			c.WSSubscribeBurst, c.Key("max_topics_per_connection"), c.MaxTopicsPerConnection, c.Key("ws_subscribe_rate"))
	}
	if c.TokenDedupTTL <= 0 {
		v.fail("token_dedup_ttl", "%s must be positive", c.TokenDedupTTL)
	}
	if c.WSMessageTimeout <= 0 {
		v.fail("ws_message_timeout", "%s must be positive", c.WSMessageTimeout)
	}
}
