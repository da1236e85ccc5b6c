// Package config is hookrelay's one configuration struct: defaults per mode,
// overridden by an optional YAML file (--config / HOOKRELAY_CONFIG), then by
// HOOKRELAY_* environment variables, then by flags; secret references
// (env:, file:, aws-sm://, aws-ssm://) resolved once at load; validated with
// errors that name the offending key. See docs/configuration.md.
package config

import (
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/secrets"
)

// Mode selects the defaults and the requirements of a binary.
type Mode string

const (
	// ModeDev is `relay dev`: one process on 127.0.0.1, memory bus unless
	// REDIS_URL is set, token key optional.
	ModeDev Mode = "dev"
	// ModeServe is `relay serve`: production behind a load balancer;
	// requires REDIS_URL and a token key.
	ModeServe Mode = "serve"
	// ModeLambda is the functions/* bootstraps: requires REDIS_URL, no
	// listener and no token key.
	ModeLambda Mode = "lambda"
)

// Defaults. Where dev and serve differ both are given.
const (
	DefaultAddrDev              = "127.0.0.1:8080"
	DefaultAddrServe            = ":8080"
	DefaultHeartbeat            = 15 * time.Second
	DefaultRedisWaitTimeout     = 500 * time.Millisecond
	DefaultDrainTimeoutDev      = 5 * time.Second
	DefaultDrainTimeoutServe    = 240 * time.Second
	DefaultDrainGraceDev        = time.Duration(0)
	DefaultDrainGraceServe      = 15 * time.Second
	DefaultDeregistrationDelay  = 300 * time.Second
	DefaultMaxConnections       = 100_000
	DefaultClientQueueSize      = 256
	DefaultWriteTimeout         = 10 * time.Second
	DefaultWSPing               = 25 * time.Second
	DefaultWSReadLimit          = 64 << 10
	DefaultMaxTopicsPerConn     = 100
	DefaultMaxBodyBytes         = 1 << 20
	DefaultMaxEventBytes        = bus.DefaultMaxEventBytes
	DefaultHistoryLen           = bus.DefaultHistoryLen
	DefaultHistoryTTL           = bus.DefaultHistoryTTL
	DefaultDedupTTL             = bus.DefaultDedupTTL
	DefaultConnectionsPerIP     = 0 // unlimited
	DefaultPublishRate          = 1000.0
	DefaultPublishBurst         = 2000
	DefaultLogLevel             = "info"
	DefaultLogFormatDev         = "text"
	DefaultLogFormatServe       = "json"
	DefaultSecretResolveTimeout = 30 * time.Second
	DefaultTokenAudience        = "hookrelay"
	DefaultMetricsEnabled       = true
	DefaultDeliveryLog          = true
	DefaultDeliveryLogCount     = deliverylog.DefaultCount
	DefaultDeliveryLogBytes     = deliverylog.DefaultBytes
	DefaultDeliveryLogTTL       = deliverylog.DefaultTTL
	DefaultFleetTTL             = 15 * time.Second
	// MinAdminKeyBytes is the shortest admin key accepted.
	MinAdminKeyBytes          = 16
	DefaultPresenceTopicsDev  = "room:*"
	DefaultPresenceInterval   = time.Second
	DefaultPresenceTTL        = 15 * time.Second
	DefaultPresenceMaxMembers = 1000
)

// Limits from the AWS load balancer the validation checks against.
const (
	// ALBIdleTimeout is the ALB's default idle timeout: heartbeats must be
	// below it or idle streams are cut.
	ALBIdleTimeout = 60 * time.Second
	// MinTokenKeyBytes is the shortest HS256 key serve accepts (256 bits).
	MinTokenKeyBytes = 32
)

// APIKey is one publish API key ("name:key" in HOOKRELAY_API_KEYS).
type APIKey struct {
	Name string // shown in logs and metrics, never the key
	Key  string // resolved secret
}

// Config is everything a hookrelay binary reads at start. Load fills it;
// secret fields hold resolved values.
type Config struct {
	Mode Mode

	// Listener.
	Addr string // HOOKRELAY_ADDR
	// Public lets relay dev listen on a non-loopback Addr (--public).
	Public bool // HOOKRELAY_PUBLIC

	// Redis. An empty RedisURL in dev means the memory bus.
	RedisURL        string // REDIS_URL / HOOKRELAY_REDIS_URL (secret ref allowed)
	RedisCluster    bool   // HOOKRELAY_REDIS_CLUSTER: Redis Cluster / ElastiCache cluster mode
	RedisUsername   string // HOOKRELAY_REDIS_USERNAME, overrides the URL's user
	RedisPassword   string // HOOKRELAY_REDIS_PASSWORD (secret ref), overrides the URL's password
	RedisIAMAuth    bool   // HOOKRELAY_REDIS_IAM_AUTH: ElastiCache IAM auth tokens
	RedisIAMCluster string // HOOKRELAY_REDIS_IAM_CLUSTER: replication group / serverless cache id
	RedisIAMUser    string // HOOKRELAY_REDIS_IAM_USER: ElastiCache user id
	RedisIAMRegion  string // HOOKRELAY_REDIS_IAM_REGION (default AWS_REGION)
	// RedisIAMServerless marks an ElastiCache Serverless cache (the token
	// then carries ResourceType=ServerlessCache).
	RedisIAMServerless bool // HOOKRELAY_REDIS_IAM_SERVERLESS
	// RedisWaitReplicas > 0: a publish is acknowledged only once that many
	// replicas have it (WAIT), else 503; RedisWaitTimeout bounds the wait.
	RedisWaitReplicas int           // HOOKRELAY_REDIS_WAIT_REPLICAS
	RedisWaitTimeout  time.Duration // HOOKRELAY_REDIS_WAIT_TIMEOUT

	// Auth.
	APIKeys       []APIKey // HOOKRELAY_API_KEYS "name:key,…"
	TokenKeys     []string // HOOKRELAY_TOKEN_KEY: first signs, all verify
	TokenAudience string   // HOOKRELAY_TOKEN_AUDIENCE
	JWKSURL       string   // HOOKRELAY_JWKS_URL
	JWKSFile      string   // HOOKRELAY_JWKS_FILE
	TokenIssuers  []string // HOOKRELAY_TOKEN_ISSUER: iss values JWKS tokens may carry
	// MaxTokenTTL bounds exp - iat of accepted tokens (0 = none): off by
	// default because iat is optional in RFC 7519 and external issuers
	// that omit it would be locked out by an upgrade.
	MaxTokenTTL    time.Duration // HOOKRELAY_MAX_TOKEN_TTL
	AllowedOrigins []string      // HOOKRELAY_ALLOWED_ORIGINS

	// Connections.
	Heartbeat              time.Duration // HOOKRELAY_HEARTBEAT
	DrainTimeout           time.Duration // HOOKRELAY_DRAIN_TIMEOUT
	DrainGrace             time.Duration // HOOKRELAY_DRAIN_GRACE
	DeregistrationDelay    time.Duration // HOOKRELAY_DEREGISTRATION_DELAY
	MaxConnections         int           // HOOKRELAY_MAX_CONNECTIONS
	ClientQueueSize        int           // HOOKRELAY_CLIENT_QUEUE_SIZE (events)
	WriteTimeout           time.Duration // HOOKRELAY_WRITE_TIMEOUT
	WSPing                 time.Duration // HOOKRELAY_WS_PING
	WSReadLimit            int64         // HOOKRELAY_WS_READ_LIMIT (bytes)
	MaxTopicsPerConnection int           // HOOKRELAY_MAX_TOPICS_PER_CONNECTION
	ConnectionsPerIP       int           // HOOKRELAY_CONNECTIONS_PER_IP (0 = unlimited)
	// TrustProxy keys per-IP limits by the last X-Forwarded-For entry (the
	// address the load balancer saw). Only safe when every request comes
	// through a proxy that appends it, like the ALB.
	TrustProxy bool // HOOKRELAY_TRUST_PROXY

	// Publishing and history.
	MaxBodyBytes  int64         // HOOKRELAY_MAX_BODY_BYTES
	MaxEventBytes int           // HOOKRELAY_MAX_EVENT_BYTES
	HistoryLen    int           // HOOKRELAY_HISTORY_LEN
	HistoryTTL    time.Duration // HOOKRELAY_HISTORY_TTL
	DedupTTL      time.Duration // HOOKRELAY_DEDUP_TTL
	PublishRate   float64       // HOOKRELAY_PUBLISH_RATE (events/s per key, 0 = unlimited)
	PublishBurst  int           // HOOKRELAY_PUBLISH_BURST

	// Presence (who is online in a topic).
	PresenceTopics     []string      // HOOKRELAY_PRESENCE_TOPICS: patterns presence is on for
	PresenceInterval   time.Duration // HOOKRELAY_PRESENCE_INTERVAL: sync and update interval
	PresenceTTL        time.Duration // HOOKRELAY_PRESENCE_TTL: a dead relay's members leave after this
	PresenceMaxMembers int           // HOOKRELAY_PRESENCE_MAX_MEMBERS: count-only above

	// Costs bound what one request may cost (docs/security.md).
	Costs

	// Telemetry.
	LogLevel       string // HOOKRELAY_LOG_LEVEL: debug, info, warn, error
	LogFormat      string // HOOKRELAY_LOG_FORMAT: json, text
	MetricsEnabled bool   // HOOKRELAY_METRICS_ENABLED
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// instead of the public one (I5 of the 2026-12 review: metrics show
	// source names, signature failures and connection counts).
	MetricsAddr string // HOOKRELAY_METRICS_ADDR
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string // HOOKRELAY_METRICS_TOKEN (secret)

	// Operator console, delivery log and fleet record (docs/console.md).
	AdminKey          string        // HOOKRELAY_ADMIN_KEY (secret): the console's credential; empty = no console
	DeliveryLog       bool          // HOOKRELAY_DELIVERY_LOG
	DeliveryLogBodies bool          // HOOKRELAY_DELIVERY_LOG_BODIES
	DeliveryLogRedact []string      // HOOKRELAY_DELIVERY_LOG_REDACT: JSON field paths
	DeliveryLogCount  int           // HOOKRELAY_DELIVERY_LOG_COUNT (per source)
	DeliveryLogBytes  int64         // HOOKRELAY_DELIVERY_LOG_BYTES (per source)
	DeliveryLogTTL    time.Duration // HOOKRELAY_DELIVERY_LOG_TTL
	FleetTTL          time.Duration // HOOKRELAY_FLEET_TTL: a dead relay leaves the fleet view after this

	// Sources are the webhook senders (config file only, `sources:`).
	Sources []WebhookSource `yaml:"sources"`

	// ConfigFile is the YAML file that was read, "" if none.
	ConfigFile string

	// Args are the positional arguments left after the flags.
	Args []string

	// Warnings are non-fatal findings of Validate (dev-only settings, short
	// dev keys); the binary logs them at start.
	Warnings []string
	// loadWarnings are Load's own findings (unknown variables), kept
	// across Validate calls.
	loadWarnings []string

	// secrets resolved the references at load; kept for later references
	// (webhook source secrets) and its AWS configuration.
	secrets *secrets.Resolver

	// origin maps a setting name to where its value came from, so
	// Validate can name the key the operator actually wrote.
	origin map[string]string
}

// Defaults returns the configuration a mode starts from before any file,
// environment variable or flag.
func Defaults(mode Mode) *Config {
	c := &Config{
		Mode:                   mode,
		Addr:                   DefaultAddrServe,
		TokenAudience:          DefaultTokenAudience,
		Heartbeat:              DefaultHeartbeat,
		RedisWaitTimeout:       DefaultRedisWaitTimeout,
		DrainTimeout:           DefaultDrainTimeoutServe,
		DrainGrace:             DefaultDrainGraceServe,
		DeregistrationDelay:    DefaultDeregistrationDelay,
		MaxConnections:         DefaultMaxConnections,
		ClientQueueSize:        DefaultClientQueueSize,
		WriteTimeout:           DefaultWriteTimeout,
		WSPing:                 DefaultWSPing,
		WSReadLimit:            DefaultWSReadLimit,
		MaxTopicsPerConnection: DefaultMaxTopicsPerConn,
		ConnectionsPerIP:       DefaultConnectionsPerIP,
		MaxBodyBytes:           DefaultMaxBodyBytes,
		MaxEventBytes:          DefaultMaxEventBytes,
		HistoryLen:             DefaultHistoryLen,
		HistoryTTL:             DefaultHistoryTTL,
		DedupTTL:               DefaultDedupTTL,
		PublishRate:            DefaultPublishRate,
		PublishBurst:           DefaultPublishBurst,
		LogLevel:               DefaultLogLevel,
		LogFormat:              DefaultLogFormatServe,
		MetricsEnabled:         DefaultMetricsEnabled,
		DeliveryLog:            DefaultDeliveryLog,
		DeliveryLogCount:       DefaultDeliveryLogCount,
		DeliveryLogBytes:       DefaultDeliveryLogBytes,
		DeliveryLogTTL:         DefaultDeliveryLogTTL,
		FleetTTL:               DefaultFleetTTL,
		PresenceInterval:       DefaultPresenceInterval,
		PresenceTTL:            DefaultPresenceTTL,
		PresenceMaxMembers:     DefaultPresenceMaxMembers,
		Costs:                  defaultCosts(),
	}
	if mode == ModeDev {
		c.Addr = DefaultAddrDev
		c.DrainTimeout = DefaultDrainTimeoutDev
		c.DrainGrace = DefaultDrainGraceDev
		c.LogFormat = DefaultLogFormatDev
		// A developer replays what they just sent; production keeps
		// bodies only when the operator says so.
		c.DeliveryLogBodies = true
		// The chat demo's rooms show who is online.
		c.PresenceTopics = []string{DefaultPresenceTopicsDev}
	}
	return c
}

// BusOptions returns the bus settings in the form infra/bus takes.
func (c *Config) BusOptions() bus.Options {
	return bus.Options{
		HistoryLen:    c.HistoryLen,
		HistoryTTL:    c.HistoryTTL,
		DedupTTL:      c.DedupTTL,
		MaxEventBytes: c.MaxEventBytes,
		// Validate bounds it far below MaxInt32.
		HistoryPageBytes: int(c.HistoryPageBytes),
	}
}

// DeliveryLogLimits returns the delivery log's bounds per source.
func (c *Config) DeliveryLogLimits() deliverylog.Limits {
	return deliverylog.Limits{Count: c.DeliveryLogCount, Bytes: c.DeliveryLogBytes, TTL: c.DeliveryLogTTL}
}

// SigningKey is the token key new tokens are signed with ("" if none).
func (c *Config) SigningKey() string {
	if len(c.TokenKeys) == 0 {
		return ""
	}
	return c.TokenKeys[0]
}
