package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// setting is one configuration knob. Its YAML key is name, its flag is
// --name with dashes and its environment variable HOOKRELAY_NAME, so the
// three spellings can never drift apart.
type setting struct {
	name  string
	usage string
	// secret marks values that may be secret references; they are never
	// echoed in errors.
	secret bool
	// aliases are extra environment variables read when the canonical one
	// is empty (REDIS_URL).
	aliases []string
	// set parses one scalar value into the config.
	set func(c *Config, v string) error
	// list, when non-nil, takes several values (a YAML sequence, or the
	// comma-separated env/flag form).
	list func(c *Config, items []string) error
	// get formats the current value (the default in -h and the docs).
	get func(c *Config) string
	// kind names the value's type in -h and the docs.
	kind string
}

func (s *setting) envName() string  { return envName(s.name) }
func (s *setting) flagName() string { return strings.ReplaceAll(s.name, "_", "-") }

func envName(name string) string { return "HOOKRELAY_" + strings.ToUpper(name) }

// setString applies a string form: lists are split on commas.
func (s *setting) setString(c *Config, v string) error {
	if s.list != nil {
		return s.list(c, splitList(v))
	}
	return s.set(c, v)
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// settings lists every knob; the order is the order of --help and the docs.
func settings() []*setting {
	return append([]*setting{
		str("addr", "listen address (host:port)", func(c *Config) *string { return &c.Addr }),
		boolean("public", "relay dev only: allow a non-loopback addr (dev serves demo pages and demo tokens to whoever reaches it)", func(c *Config) *bool { return &c.Public }),
		{name: "redis_url", secret: true, aliases: []string{"REDIS_URL"},
			usage: "Redis URL, redis:// or rediss:// with optional user:password (empty in dev: memory bus)",
			kind:  "url", get: func(c *Config) string { return c.RedisURL },
			set: func(c *Config, v string) error { c.RedisURL = strings.TrimSpace(v); return nil }},
		boolean("redis_cluster", "Redis Cluster (ElastiCache cluster mode enabled): REDIS_URL is the configuration endpoint", func(c *Config) *bool { return &c.RedisCluster }),
		str("redis_username", "Redis ACL user (overrides the URL's)", func(c *Config) *string { return &c.RedisUsername }),
		{name: "redis_password", secret: true, usage: "Redis password (overrides the URL's)",
			kind: "secret", get: func(c *Config) string { return c.RedisPassword },
			set: func(c *Config, v string) error { c.RedisPassword = strings.TrimSpace(v); return nil }},
		boolean("redis_iam_auth", "authenticate to ElastiCache with IAM auth tokens", func(c *Config) *bool { return &c.RedisIAMAuth }),
		str("redis_iam_cluster", "ElastiCache replication group or serverless cache id (IAM auth)", func(c *Config) *string { return &c.RedisIAMCluster }),
		str("redis_iam_user", "ElastiCache user id (IAM auth)", func(c *Config) *string { return &c.RedisIAMUser }),
		str("redis_iam_region", "AWS region of the cache (IAM auth; default AWS_REGION)", func(c *Config) *string { return &c.RedisIAMRegion }),
		boolean("redis_iam_serverless", "the cache is ElastiCache Serverless (IAM auth)", func(c *Config) *bool { return &c.RedisIAMServerless }),
		integer("redis_wait_replicas", "durable publishing: acknowledge a publish only once this many replicas have it (Redis WAIT), else answer 503 so the sender retries; 0 = off", func(c *Config) *int { return &c.RedisWaitReplicas }),
		duration("redis_wait_timeout", "how long a durable publish waits for redis_wait_replicas", func(c *Config) *time.Duration { return &c.RedisWaitTimeout }),
		{name: "api_keys", secret: true, usage: "publish API keys name:key,name2:key2 (for POST /v1/publish)",
			kind: "list", get: func(c *Config) string { return joinAPIKeyNames(c.APIKeys) },
			list: func(c *Config, items []string) error {
				keys, err := parseAPIKeyItems(items)
				c.APIKeys = keys
				return err
			}},
		{name: "token_key", secret: true, usage: "HS256 token keys (>= 32 bytes), comma-separated: the first signs, all verify",
			kind: "list", get: func(c *Config) string { return strings.Join(c.TokenKeys, ",") },
			list: func(c *Config, items []string) error { c.TokenKeys = items; return nil }},
		str("token_audience", "audience (aud) of subscriber tokens", func(c *Config) *string { return &c.TokenAudience }),
		str("jwks_url", "JWKS URL of an external token issuer", func(c *Config) *string { return &c.JWKSURL }),
		str("jwks_file", "JWKS file of an external token issuer", func(c *Config) *string { return &c.JWKSFile }),
		{name: "token_issuer", usage: "iss values a JWKS-signed token may carry, comma-separated (required with jwks_url / jwks_file)",
			kind: "list", get: func(c *Config) string { return strings.Join(c.TokenIssuers, ",") },
			list: func(c *Config, items []string) error { c.TokenIssuers = items; return nil }},
		duration("max_token_ttl", "longest token lifetime (exp - iat) accepted; tokens without iat are then refused (0 = no maximum)", func(c *Config) *time.Duration { return &c.MaxTokenTTL }),
		{name: "allowed_origins", usage: "browser origins allowed to connect (scheme://host[:port]), comma-separated; same host is always allowed",
			kind: "list", get: func(c *Config) string { return strings.Join(c.AllowedOrigins, ",") },
			list: func(c *Config, items []string) error { c.AllowedOrigins = items; return nil }},
		duration("heartbeat", "SSE heartbeat interval (below the 60s ALB idle timeout)", func(c *Config) *time.Duration { return &c.Heartbeat }),
		duration("drain_timeout", "time to close all clients after SIGTERM", func(c *Config) *time.Duration { return &c.DrainTimeout }),
		duration("drain_grace", "time /readyz fails before clients are closed (load balancer notices)", func(c *Config) *time.Duration { return &c.DrainGrace }),
		duration("deregistration_delay", "the load balancer's deregistration delay: drain_grace + drain_timeout must fit inside", func(c *Config) *time.Duration { return &c.DeregistrationDelay }),
		integer("max_connections", "maximum open client connections per node (lowered at start to the open-file limit minus 512: a warning in `serve`, a note in `dev`)", func(c *Config) *int { return &c.MaxConnections }),
		integer("client_queue_size", "events queued per client before it is disconnected as slow", func(c *Config) *int { return &c.ClientQueueSize }),
		duration("write_timeout", "how long a client may take to accept bytes its socket could not take at once before it is disconnected", func(c *Config) *time.Duration { return &c.WriteTimeout }),
		duration("ws_ping", "WebSocket ping interval", func(c *Config) *time.Duration { return &c.WSPing }),
		byteSize("ws_read_limit", "largest WebSocket frame a client may send", func(c *Config) *int64 { return &c.WSReadLimit }),
		integer("max_topics_per_connection", "topics one connection may subscribe", func(c *Config) *int { return &c.MaxTopicsPerConnection }),
		boolean("trust_proxy", "key per-IP limits by the last X-Forwarded-For entry (only behind a proxy that appends it, e.g. the ALB)", func(c *Config) *bool { return &c.TrustProxy }),
		integer("connections_per_ip", "open connections per client IP (0 = unlimited)", func(c *Config) *int { return &c.ConnectionsPerIP }),
		byteSize("max_body_bytes", "largest publish or webhook request body", func(c *Config) *int64 { return &c.MaxBodyBytes }),
		{name: "max_event_bytes", usage: "largest encoded event",
			kind: "bytes", get: func(c *Config) string { return formatBytes(int64(c.MaxEventBytes)) },
			set: func(c *Config, v string) error {
				n, err := parseBytes(v)
				if err == nil && n > math.MaxInt32 {
					err = fmt.Errorf("%q is too large", v)
				}
				c.MaxEventBytes = int(n)
				return err
			}},
		integer("history_len", "events kept per topic", func(c *Config) *int { return &c.HistoryLen }),
		duration("history_ttl", "a topic's history expires this long after its last event", func(c *Config) *time.Duration { return &c.HistoryTTL }),
		duration("dedup_ttl", "how long an idempotency key is remembered", func(c *Config) *time.Duration { return &c.DedupTTL }),
		{name: "publish_rate", usage: "publish rate per API key or token subject, events/s (0 = unlimited)",
			kind: "float", get: func(c *Config) string { return strconv.FormatFloat(c.PublishRate, 'g', -1, 64) },
			set: func(c *Config, v string) error { return parseFloat(v, &c.PublishRate) }},
		integer("publish_burst", "publish burst per API key or token subject", func(c *Config) *int { return &c.PublishBurst }),
		{name: "presence_topics", usage: "topic patterns with presence (who is online): exact topics, prefix:* or *, comma-separated; empty = off",
			kind: "list", get: func(c *Config) string { return strings.Join(c.PresenceTopics, ",") },
			list: func(c *Config, items []string) error { c.PresenceTopics = items; return nil }},
		duration("presence_interval", "how often a relay syncs presence with the bus and sends join/leave updates", func(c *Config) *time.Duration { return &c.PresenceInterval }),
		duration("presence_ttl", "members of a relay that stopped syncing (crashed) leave after this", func(c *Config) *time.Duration { return &c.PresenceTTL }),
		integer("presence_max_members", "above this many members a topic's presence is count-only (no list, no join/leave)", func(c *Config) *int { return &c.PresenceMaxMembers }),
		str("log_level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
		str("log_format", "json or text", func(c *Config) *string { return &c.LogFormat }),
		boolean("metrics_enabled", "serve Prometheus metrics on /metrics", func(c *Config) *bool { return &c.MetricsEnabled }),
		str("metrics_addr", "serve /metrics on this host:port instead of addr (recommended in production; empty: on addr)", func(c *Config) *string { return &c.MetricsAddr }),
		{name: "metrics_token", secret: true, usage: "bearer token /metrics requires (>= 16 bytes; empty: none)",
			kind: "secret", get: func(c *Config) string { return c.MetricsToken },
			set: func(c *Config, v string) error { c.MetricsToken = strings.TrimSpace(v); return nil }},
		{name: "admin_key", secret: true, usage: "admin API key of the operator console /console (>= 16 bytes; empty: no console)",
			kind: "secret", get: func(c *Config) string { return c.AdminKey },
			set: func(c *Config, v string) error { c.AdminKey = strings.TrimSpace(v); return nil }},
		boolean("delivery_log", "log every webhook delivery (Redis, or memory in dev) for the console", func(c *Config) *bool { return &c.DeliveryLog }),
		boolean("delivery_log_bodies", "keep request bodies and headers in the delivery log (credentials never)", func(c *Config) *bool { return &c.DeliveryLogBodies }),
		{name: "delivery_log_redact", usage: "JSON fields replaced by [redacted] in logged bodies (customer.email,items.price), comma-separated",
			kind: "list", get: func(c *Config) string { return strings.Join(c.DeliveryLogRedact, ",") },
			list: func(c *Config, items []string) error { c.DeliveryLogRedact = items; return nil }},
		integer("delivery_log_count", "delivery log entries kept per source", func(c *Config) *int { return &c.DeliveryLogCount }),
		byteSize("delivery_log_bytes", "delivery log bytes kept per source", func(c *Config) *int64 { return &c.DeliveryLogBytes }),
		duration("delivery_log_ttl", "how long a delivery log entry is kept", func(c *Config) *time.Duration { return &c.DeliveryLogTTL }),
		duration("fleet_ttl", "a relay's fleet record expires this long after its last refresh (refreshed every third of it)", func(c *Config) *time.Duration { return &c.FleetTTL }),
	}, costSettings()...)
}

// The setting constructors (str, duration, integer, byteSize, boolean and
// costs.go's float) are kept out of line: inlined into settings(), each of
// the ~90 calls compiled its own copy of the get and set closures, ~10 KB
// of every zip (docs/lambda.md); called, they share one copy each.

//go:noinline
func str(name, usage string, field func(*Config) *string) *setting {
	return &setting{name: name, usage: usage, kind: "string", get: func(c *Config) string { return *field(c) }, set: func(c *Config, v string) error {
		*field(c) = strings.TrimSpace(v)
		return nil
	}}
}

//go:noinline
func duration(name, usage string, field func(*Config) *time.Duration) *setting {
	return &setting{name: name, usage: usage, kind: "duration", get: func(c *Config) string { return formatDuration(*field(c)) }, set: func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration (Go syntax: 15s, 4m, 1h30m)", v)
		}
		*field(c) = d
		return nil
	}}
}

//go:noinline
func integer(name, usage string, field func(*Config) *int) *setting {
	return &setting{name: name, usage: usage, kind: "int", get: func(c *Config) string { return strconv.Itoa(*field(c)) }, set: func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = n
		return nil
	}}
}

//go:noinline
func byteSize(name, usage string, field func(*Config) *int64) *setting {
	return &setting{name: name, usage: usage, kind: "bytes", get: func(c *Config) string { return formatBytes(*field(c)) }, set: func(c *Config, v string) error {
		n, err := parseBytes(v)
		*field(c) = n
		return err
	}}
}

//go:noinline
func boolean(name, usage string, field func(*Config) *bool) *setting {
	return &setting{name: name, usage: usage, kind: "bool", get: func(c *Config) string { return strconv.FormatBool(*field(c)) }, set: func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", v)
		}
		*field(c) = b
		return nil
	}}
}

func parseFloat(v string, dst *float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%q is not a number", v)
	}
	*dst = f
	return nil
}

// EnvVars returns every environment variable Load reads: the config file
// variable, each setting's variable (and aliases) in settings order, and the
// AWS region fallbacks of the IAM auth settings.
func EnvVars() []string {
	out := []string{"HOOKRELAY_CONFIG"}
	for _, s := range settings() {
		out = append(out, s.envName())
		out = append(out, s.aliases...)
	}
	return append(out, "AWS_REGION", "AWS_DEFAULT_REGION")
}

// formatDuration prints d the way an operator would write it (15s, 4m, 168h)
// rather than time.Duration's 4m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func joinAPIKeyNames(keys []APIKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name + ":…"
	}
	return strings.Join(names, ",")
}

// settingByName finds a setting of the table.
func settingByName(table []*setting, name string) *setting {
	for _, s := range table {
		if s.name == name {
			return s
		}
	}
	return nil
}
