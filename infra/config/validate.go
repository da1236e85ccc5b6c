package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/logging"
)

// Validate checks the configuration for its mode. It reports every problem
// at once (errors.Join), each prefixed by the key as the operator wrote it
// (see Key), e.g. "HOOKRELAY_HEARTBEAT: 90s must be below the ALB idle
// timeout (60s)". Values of secret settings are never quoted. Harmless
// oddities are appended to c.Warnings instead.
func (c *Config) Validate() error {
	v := validator{c: c}
	switch c.Mode {
	case ModeDev, ModeServe, ModeLambda:
	default:
		v.errs = append(v.errs, fmt.Errorf("config: unknown mode %q (want dev, serve or lambda)", c.Mode))
	}
	if c.Mode != ModeLambda {
		v.addr()
	}
	v.redis()
	v.tokens()
	v.origins()
	v.timing()
	v.limits()
	v.telemetry()
	v.apiKeys()
	v.console()
	v.presence()
	c.Warnings = append(append([]string(nil), c.loadWarnings...), v.warnings...)
	return errors.Join(v.errs...)
}

type validator struct {
	c        *Config
	errs     []error
	warnings []string
}

func (v *validator) fail(name, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", v.c.Key(name), fmt.Sprintf(format, args...)))
}

func (v *validator) warn(name, format string, args ...any) {
	v.warnings = append(v.warnings, v.c.Key(name)+": "+fmt.Sprintf(format, args...))
}

func (v *validator) addr() {
	v.hostPort("addr", v.c.Addr)
	v.devPublic()
	if v.c.MetricsAddr != "" {
		v.hostPort("metrics_addr", v.c.MetricsAddr)
		if v.c.MetricsAddr == v.c.Addr {
			v.fail("metrics_addr", "%q is the same as %s: give metrics a port of its own, or leave it empty to serve /metrics on %s", v.c.MetricsAddr, v.c.Key("addr"), v.c.Key("addr"))
		}
	}
}

// devPublic refuses a relay dev listening beyond loopback unless public
// says so (M5 of the 2026-12 review): dev serves demo pages, demo tokens
// and, without a token key, every topic to whoever reaches it.
func (v *validator) devPublic() {
	c := v.c
	if c.Mode != ModeDev {
		if c.Public {
			v.warn("public", "only relay dev reads it; ignored")
		}
		return
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || c.Public || isLoopbackHost(host) {
		return
	}
	v.fail("addr", "%q is not a loopback address: relay dev serves demo pages and demo tokens (and, without a token key, every topic) to whoever reaches it; listen on 127.0.0.1, or pass --public (HOOKRELAY_PUBLIC=true) if you mean it",
		c.Addr)
}

// isLoopbackHost: "localhost" or a loopback IP; "" (every interface) and
// other names are not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) hostPort(name, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(name, "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.fail(name, "%q: port must be a number from 0 to 65535", addr)
	}
	if strings.ContainsAny(host, " /") {
		v.fail(name, "%q: bad host", addr)
	}
}

func (v *validator) redis() {
	c := v.c
	if c.RedisURL == "" {
		if c.Mode == ModeServe || c.Mode == ModeLambda {
			v.fail("redis_url", "required by %s (redis://host:6379 or rediss://…)", modeCommand(c.Mode))
		}
		if c.RedisIAMAuth {
			v.fail("redis_iam_auth", "needs REDIS_URL (rediss://…)")
		}
		return
	}
	// Never quote the URL itself: it may carry a password.
	u, err := url.Parse(c.RedisURL)
	if err != nil {
		v.fail("redis_url", "not a valid URL (want redis://[user:password@]host:port[/db])")
		return
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		v.fail("redis_url", "scheme %q: want redis:// or rediss:// (TLS)", u.Scheme)
		return
	}
	if u.Host == "" {
		v.fail("redis_url", "no host (want %s://host:6379)", u.Scheme)
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			v.fail("redis_url", "path %q: want a database number (/0)", u.Path)
		}
	}
	if !c.RedisIAMAuth {
		return
	}
	if u.Scheme != "rediss" {
		v.fail("redis_iam_auth", "ElastiCache IAM auth needs TLS: use rediss:// in %s", c.Key("redis_url"))
	}
	if c.RedisIAMCluster == "" {
		v.fail("redis_iam_cluster", "required with IAM auth (the replication group or serverless cache id)")
	}
	if c.RedisIAMUser == "" {
		v.fail("redis_iam_user", "required with IAM auth (the ElastiCache user id)")
	}
	if c.RedisIAMRegion == "" {
		v.fail("redis_iam_region", "required with IAM auth (or set AWS_REGION)")
	}
	if c.RedisPassword != "" {
		v.fail("redis_password", "conflicts with %s: the password is the IAM token", c.Key("redis_iam_auth"))
	}
}

func (v *validator) tokens() {
	c := v.c
	jwks := c.JWKSURL != "" || c.JWKSFile != ""
	if c.Mode == ModeServe && len(c.TokenKeys) == 0 && !jwks {
		v.fail("token_key", "required by relay serve (at least %d random bytes, e.g. `openssl rand -base64 48`), or set HOOKRELAY_JWKS_URL", MinTokenKeyBytes)
	}
	for i, k := range c.TokenKeys {
		if len(k) >= MinTokenKeyBytes {
			continue
		}
		which := ""
		if len(c.TokenKeys) > 1 {
			which = fmt.Sprintf("key %d: ", i+1)
		}
		if c.Mode == ModeServe {
			v.fail("token_key", "%sis %d bytes, want at least %d", which, len(k), MinTokenKeyBytes)
		} else {
			v.warn("token_key", "%sis %d bytes; relay serve requires at least %d", which, len(k), MinTokenKeyBytes)
		}
	}
	if c.TokenAudience == "" {
		v.fail("token_audience", "must not be empty")
	}
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		switch {
		case err != nil || u.Host == "":
			v.fail("jwks_url", "%q is not an absolute URL", c.JWKSURL)
		case u.Scheme == "https":
		case u.Scheme == "http" && c.Mode == ModeDev:
		default:
			v.fail("jwks_url", "%q: want https://", c.JWKSURL)
		}
	}
	if (c.JWKSURL != "" || c.JWKSFile != "") && len(c.TokenIssuers) == 0 {
		v.fail("token_issuer", "required with a JWKS: the iss of the tokens to accept (a key set may be shared by other tenants)")
	}
	if c.JWKSURL != "" && c.JWKSFile != "" {
		v.fail("jwks_file", "conflicts with %s: set one", c.Key("jwks_url"))
	}
	if c.MaxTokenTTL < 0 {
		v.fail("max_token_ttl", "%s must not be negative (0 = no maximum)", c.MaxTokenTTL)
	}
}

// origins checks each allowed origin is exactly scheme://host[:port], the
// form browsers send in the Origin header. "*" would hand every site a
// reader of users' streams: refused in serve, a warning in dev.
func (v *validator) origins() {
	for _, o := range v.c.AllowedOrigins {
		if o == "*" {
			if v.c.Mode == ModeServe {
				v.fail("allowed_origins", `"*" is not allowed in relay serve: list the origins (https://app.example.com)`)
			} else {
				v.warn("allowed_origins", `"*" lets any web site subscribe with your users' cookies; dev only`)
			}
			continue
		}
		if msg := checkOrigin(o); msg != "" {
			v.fail("allowed_origins", "%q %s", o, msg)
		}
	}
}

func checkOrigin(o string) string {
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not an origin: want http:// or https://"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "is not an origin: no user@ part"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return "is not an origin: scheme://host[:port] only, no path (drop the trailing /)"
	case strings.ToLower(o) != o:
		return "must be lower case (browsers send origins lower-cased)"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has a bad port"
		}
	}
	return ""
}

func (v *validator) timing() {
	c := v.c
	if c.Heartbeat <= 0 {
		v.fail("heartbeat", "must be positive")
	} else if c.Heartbeat >= ALBIdleTimeout {
		v.fail("heartbeat", "%s must be below the ALB idle timeout (%s)", formatDuration(c.Heartbeat), formatDuration(ALBIdleTimeout))
	}
	if c.WSPing <= 0 {
		v.fail("ws_ping", "must be positive")
	} else if c.WSPing >= ALBIdleTimeout {
		v.fail("ws_ping", "%s must be below the ALB idle timeout (%s)", formatDuration(c.WSPing), formatDuration(ALBIdleTimeout))
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{{"drain_timeout", c.DrainTimeout}, {"drain_grace", c.DrainGrace}} {
		if d.val < 0 {
			v.fail(d.name, "must not be negative")
		}
	}
	if c.DeregistrationDelay <= 0 {
		v.fail("deregistration_delay", "must be positive")
	} else if c.DrainGrace >= 0 && c.DrainTimeout >= 0 && c.DrainGrace+c.DrainTimeout > c.DeregistrationDelay {
		v.fail("drain_timeout", "%s plus %s %s = %s exceeds %s %s (the load balancer cuts connections after it)",
			formatDuration(c.DrainTimeout), c.Key("drain_grace"), formatDuration(c.DrainGrace),
			formatDuration(c.DrainGrace+c.DrainTimeout), c.Key("deregistration_delay"), formatDuration(c.DeregistrationDelay))
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{{"write_timeout", c.WriteTimeout}, {"history_ttl", c.HistoryTTL}, {"dedup_ttl", c.DedupTTL}} {
		if d.val <= 0 {
			v.fail(d.name, "must be positive")
		}
	}
}

func (v *validator) limits() {
	c := v.c
	for _, l := range []struct {
		name string
		val  int64
	}{
		{"max_connections", int64(c.MaxConnections)},
		{"client_queue_size", int64(c.ClientQueueSize)},
		{"ws_read_limit", c.WSReadLimit},
		{"max_topics_per_connection", int64(c.MaxTopicsPerConnection)},
		{"max_body_bytes", c.MaxBodyBytes},
		{"max_event_bytes", int64(c.MaxEventBytes)},
		{"history_len", int64(c.HistoryLen)},
	} {
		if l.val <= 0 {
			v.fail(l.name, "%d must be positive", l.val)
		}
	}
	if c.RedisWaitReplicas < 0 {
		v.fail("redis_wait_replicas", "%d must not be negative (0 = off)", c.RedisWaitReplicas)
	}
	if c.RedisWaitReplicas > 0 && c.RedisWaitTimeout <= 0 {
		v.fail("redis_wait_timeout", "must be positive when %s is set", c.Key("redis_wait_replicas"))
	}
	if c.ConnectionsPerIP < 0 {
		v.fail("connections_per_ip", "%d must not be negative (0 = unlimited)", c.ConnectionsPerIP)
	}
	if c.PublishRate < 0 {
		v.fail("publish_rate", "%g must not be negative (0 = unlimited)", c.PublishRate)
	}
	if c.MaxEventBytes > 0 && c.MaxBodyBytes > 0 && int64(c.MaxEventBytes) > c.MaxBodyBytes {
		v.warn("max_event_bytes", "%s is above %s %s: no request can carry such an event",
			formatBytes(int64(c.MaxEventBytes)), c.Key("max_body_bytes"), formatBytes(c.MaxBodyBytes))
	}
	if c.MaxEventBytes > 0 && c.WSReadLimit > 0 && int64(c.MaxEventBytes) > c.WSReadLimit {
		v.warn("ws_read_limit", "%s is below %s %s: WebSocket clients cannot publish the largest events",
			formatBytes(c.WSReadLimit), c.Key("max_event_bytes"), formatBytes(int64(c.MaxEventBytes)))
	}
	v.historySize()
	if c.PublishRate > 0 && c.PublishBurst < 1 {
		v.fail("publish_burst", "%d must be at least 1 when %s is set", c.PublishBurst, c.Key("publish_rate"))
	}
	c.validateCosts(v)
}

// telemetry checks the log settings with the parser every binary's logger
// uses (infra/logging), so a level that passes here is the level logged at.
func (v *validator) telemetry() {
	if _, err := logging.ParseLevel(v.c.LogLevel); err != nil {
		v.fail("log_level", "%q: want debug, info, warn or error", v.c.LogLevel)
	}
	if _, err := logging.ParseFormat(v.c.LogFormat); err != nil {
		v.fail("log_format", "%q: want json or text", v.c.LogFormat)
	}
	if v.c.MetricsToken != "" && len(v.c.MetricsToken) < MinAdminKeyBytes {
		v.fail("metrics_token", "must be at least %d bytes", MinAdminKeyBytes)
	}
}

// apiKeys re-checks keys set in code (Load's parser already enforces the
// same): unique valid names and non-empty keys.
func (v *validator) apiKeys() {
	seen := make(map[string]bool, len(v.c.APIKeys))
	for i, k := range v.c.APIKeys {
		switch {
		case !validKeyName(k.Name):
			v.fail("api_keys", "entry %d: name must be 1-64 letters, digits, '_', '-' or '.'", i+1)
		case seen[k.Name]:
			v.fail("api_keys", "entry %d: duplicate name %q", i+1, k.Name)
		case k.Key == "":
			v.fail("api_keys", "entry %d (%s): empty key", i+1, k.Name)
		}
		seen[k.Name] = true
	}
}

func modeCommand(m Mode) string {
	if m == ModeLambda {
		return "the Lambda functions"
	}
	return "relay " + string(m)
}

// console checks the admin key and the delivery log's bounds.
func (v *validator) console() {
	c := v.c
	if c.AdminKey != "" && len(c.AdminKey) < MinAdminKeyBytes {
		v.fail("admin_key", "must be at least %d bytes", MinAdminKeyBytes)
	}
	if c.DeliveryLogCount < 1 {
		v.fail("delivery_log_count", "%d must be >= 1", c.DeliveryLogCount)
	}
	if c.DeliveryLogBytes < 1<<10 {
		v.fail("delivery_log_bytes", "%d must be >= 1KiB", c.DeliveryLogBytes)
	}
	if c.DeliveryLogTTL < time.Second {
		v.fail("delivery_log_ttl", "%s must be >= 1s", c.DeliveryLogTTL)
	}
	if c.FleetTTL < 3*time.Second {
		v.fail("fleet_ttl", "%s must be >= 3s (refreshed every third of it)", c.FleetTTL)
	}
	if _, err := deliverylog.NewRedactor(c.DeliveryLogRedact); err != nil {
		v.fail("delivery_log_redact", "%v", err)
	}
}

// presence checks the presence settings: members of a live relay must
// never expire between two of its syncs, so the TTL must leave room for a
// few missed ones.
func (v *validator) presence() {
	c := v.c
	for _, p := range c.PresenceTopics {
		if err := event.ValidatePattern(p); err != nil {
			v.fail("presence_topics", "%q: bad pattern: %v", p, err)
		}
	}
	if c.PresenceInterval <= 0 {
		v.fail("presence_interval", "%s must be positive", formatDuration(c.PresenceInterval))
	}
	if c.PresenceInterval > 0 && c.PresenceTTL < 3*c.PresenceInterval {
		v.fail("presence_ttl", "%s must be at least 3 x %s (%s): a live relay's members would expire between syncs",
			formatDuration(c.PresenceTTL), c.Key("presence_interval"), formatDuration(c.PresenceInterval))
	}
	if c.PresenceMaxMembers <= 0 {
		v.fail("presence_max_members", "%d must be positive", c.PresenceMaxMembers)
	}
}

// MaxHistoryTopicBytes is the largest history one topic may hold
// (history_len × max_event_bytes) without a start-up warning: four times
// the defaults' 64 MiB. Anyone with a publish grant can fill a topic to
// it, and it stays for history_ttl (docs/security.md, "Cost bounds").
const MaxHistoryTopicBytes = 256 << 20

// historySize warns when one topic's history may grow past
// MaxHistoryTopicBytes (a suggestion of the 2026-12 review, H2).
func (v *validator) historySize() {
	c := v.c
	if c.HistoryLen <= 0 || c.MaxEventBytes <= 0 {
		return
	}
	per := int64(c.HistoryLen) * int64(c.MaxEventBytes)
	if per <= MaxHistoryTopicBytes {
		return
	}
	v.warn("history_len", "%d events × %s %s = up to %d MiB of Redis per topic (kept %s, %s, after its last event), above %d MiB: a few topics filled with the largest events take gigabytes; lower one of them, or size Redis and its memory alarm for it (docs/deploy.md)",
		c.HistoryLen, c.Key("max_event_bytes"), formatBytes(int64(c.MaxEventBytes)), per>>20, c.Key("history_ttl"), formatDuration(c.HistoryTTL), MaxHistoryTopicBytes>>20)
}
