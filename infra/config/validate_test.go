package config

import (
	"context"
	"strings"
	"testing"
)

const goodKey = "0123456789abcdef0123456789abcdef"

// TestValidateMessages checks each rule's message, named by the key the
// operator used (env, flag or file line).
func TestValidateMessages(t *testing.T) {
	serveEnv := func(extra map[string]string) map[string]string {
		m := map[string]string{"REDIS_URL": "redis://localhost:6379", "HOOKRELAY_TOKEN_KEY": goodKey}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		mode Mode
		args []string
		env  map[string]string
		file string // YAML, given as HOOKRELAY_CONFIG
		want string // substring; the file path is replaced by FILE
	}{
		{"heartbeat env", ModeDev, nil, map[string]string{"HOOKRELAY_HEARTBEAT": "90s"}, "",
			"HOOKRELAY_HEARTBEAT: 1m30s must be below the ALB idle timeout (1m)"},
		{"heartbeat flag", ModeDev, []string{"--heartbeat=60s"}, nil, "",
			"--heartbeat: 1m must be below the ALB idle timeout (1m)"},
		{"heartbeat file", ModeDev, nil, nil, "addr: :1\nheartbeat: 2m\n",
			"FILE:2: heartbeat: 2m must be below the ALB idle timeout (1m)"},
		{"heartbeat zero", ModeDev, nil, map[string]string{"HOOKRELAY_HEARTBEAT": "0s"}, "",
			"HOOKRELAY_HEARTBEAT: must be positive"},
		{"presence pattern", ModeDev, nil, map[string]string{"HOOKRELAY_PRESENCE_TOPICS": "room:*,room:**"}, "",
			`HOOKRELAY_PRESENCE_TOPICS: "room:**": bad pattern`},
		{"presence ttl", ModeDev, []string{"--presence-interval=2s", "--presence-ttl=5s"}, nil, "",
			"--presence-ttl: 5s must be at least 3 x --presence-interval (2s)"},
		{"presence interval", ModeDev, nil, nil, "presence_interval: 0s\n",
			"FILE:1: presence_interval: 0s must be positive"},
		{"presence max members", ModeDev, nil, map[string]string{"HOOKRELAY_PRESENCE_MAX_MEMBERS": "0"}, "",
			"HOOKRELAY_PRESENCE_MAX_MEMBERS: 0 must be positive"},
		{"ws ping", ModeDev, []string{"--ws-ping", "70s"}, nil, "",
			"--ws-ping: 1m10s must be below the ALB idle timeout"},
		{"addr", ModeDev, nil, map[string]string{"HOOKRELAY_ADDR": "8080"}, "",
			`HOOKRELAY_ADDR: "8080" is not host:port`},
		{"addr port", ModeServe, []string{"--addr", ":http"}, serveEnv(nil), "",
			`--addr: ":http": port must be a number`},
		{"serve needs redis", ModeServe, nil, map[string]string{"HOOKRELAY_TOKEN_KEY": goodKey}, "",
			"REDIS_URL: required by relay serve"},
		{"lambda needs redis", ModeLambda, nil, nil, "",
			"REDIS_URL: required by the Lambda functions"},
		{"serve needs token key", ModeServe, nil, map[string]string{"REDIS_URL": "redis://h:6379"}, "",
			"HOOKRELAY_TOKEN_KEY: required by relay serve (at least 32 random bytes"},
		{"short token key", ModeServe, nil, serveEnv(map[string]string{"HOOKRELAY_TOKEN_KEY": "short"}), "",
			"HOOKRELAY_TOKEN_KEY: is 5 bytes, want at least 32"},
		{"short second token key", ModeServe, []string{"--token-key", goodKey + ",short"}, serveEnv(nil), "",
			"--token-key: key 2: is 5 bytes, want at least 32"},
		{"redis scheme", ModeDev, nil, map[string]string{"REDIS_URL": "http://user:hunter2@h:6379"}, "",
			`REDIS_URL: scheme "http": want redis:// or rediss://`},
		{"redis no host", ModeDev, nil, map[string]string{"HOOKRELAY_REDIS_URL": "redis:///0"}, "",
			"HOOKRELAY_REDIS_URL: no host"},
		{"redis db", ModeDev, nil, map[string]string{"REDIS_URL": "redis://h:6379/x"}, "",
			`REDIS_URL: path "/x": want a database number`},
		{"redis bad url", ModeDev, nil, map[string]string{"REDIS_URL": "redis://u:hunter2@h:port"}, "",
			"REDIS_URL: not a valid URL"},
		{"iam needs tls", ModeDev, []string{"--redis-iam-auth", "--redis-iam-cluster", "c", "--redis-iam-user", "u", "--redis-iam-region", "eu-west-1"},
			map[string]string{"REDIS_URL": "redis://h:6379"}, "", "--redis-iam-auth: ElastiCache IAM auth needs TLS: use rediss:// in REDIS_URL"},
		{"iam needs cluster", ModeDev, []string{"--redis-iam-auth"}, map[string]string{"REDIS_URL": "rediss://h:6379", "AWS_REGION": "eu-west-1"}, "",
			"HOOKRELAY_REDIS_IAM_CLUSTER: required with IAM auth"},
		{"iam needs region", ModeDev, []string{"--redis-iam-auth"}, map[string]string{"REDIS_URL": "rediss://h:6379"}, "",
			"HOOKRELAY_REDIS_IAM_REGION: required with IAM auth (or set AWS_REGION)"},
		{"drain", ModeServe, nil, serveEnv(map[string]string{"HOOKRELAY_DRAIN_TIMEOUT": "290s"}), "",
			"HOOKRELAY_DRAIN_TIMEOUT: 4m50s plus HOOKRELAY_DRAIN_GRACE 15s = 5m5s exceeds HOOKRELAY_DEREGISTRATION_DELAY 5m"},
		{"drain dereg flag", ModeServe, []string{"--deregistration-delay", "60s"}, serveEnv(nil), "",
			"exceeds --deregistration-delay 1m"},
		{"negative grace", ModeDev, nil, map[string]string{"HOOKRELAY_DRAIN_GRACE": "-1s"}, "",
			"HOOKRELAY_DRAIN_GRACE: must not be negative"},
		{"max connections", ModeDev, nil, map[string]string{"HOOKRELAY_MAX_CONNECTIONS": "0"}, "",
			"HOOKRELAY_MAX_CONNECTIONS: 0 must be positive"},
		{"queue", ModeDev, []string{"--client-queue-size", "-1"}, nil, "",
			"--client-queue-size: -1 must be positive"},
		{"read limit", ModeDev, nil, nil, "ws_read_limit: 0KiB\n",
			"FILE:1: ws_read_limit: 0 must be positive"},
		{"history", ModeDev, nil, map[string]string{"HOOKRELAY_HISTORY_LEN": "0"}, "",
			"HOOKRELAY_HISTORY_LEN: 0 must be positive"},
		{"per ip", ModeDev, nil, map[string]string{"HOOKRELAY_CONNECTIONS_PER_IP": "-2"}, "",
			"HOOKRELAY_CONNECTIONS_PER_IP: -2 must not be negative"},
		{"wait replicas", ModeDev, nil, map[string]string{"HOOKRELAY_REDIS_WAIT_REPLICAS": "-1"}, "",
			"HOOKRELAY_REDIS_WAIT_REPLICAS: -1 must not be negative"},
		{"wait timeout", ModeDev, nil, map[string]string{"HOOKRELAY_REDIS_WAIT_REPLICAS": "1", "HOOKRELAY_REDIS_WAIT_TIMEOUT": "0s"}, "",
			"HOOKRELAY_REDIS_WAIT_TIMEOUT: must be positive when HOOKRELAY_REDIS_WAIT_REPLICAS is set"},
		{"max token ttl", ModeDev, nil, map[string]string{"HOOKRELAY_MAX_TOKEN_TTL": "-1h"}, "",
			"HOOKRELAY_MAX_TOKEN_TTL: -1h0m0s must not be negative"},
		{"ws subscribe burst", ModeDev, nil, map[string]string{"HOOKRELAY_WS_SUBSCRIBE_BURST": "50"}, "",
			"HOOKRELAY_WS_SUBSCRIBE_BURST: 50 must be at least HOOKRELAY_MAX_TOPICS_PER_CONNECTION (100) when HOOKRELAY_WS_SUBSCRIBE_RATE is set"},
		{"ws subscribe rate", ModeDev, nil, map[string]string{"HOOKRELAY_WS_SUBSCRIBE_RATE": "-1"}, "",
			"HOOKRELAY_WS_SUBSCRIBE_RATE: -1 must not be negative"},
		{"metrics addr", ModeDev, nil, map[string]string{"HOOKRELAY_METRICS_ADDR": "9090"}, "",
			`HOOKRELAY_METRICS_ADDR: "9090" is not host:port`},
		{"metrics addr is addr", ModeDev, nil, map[string]string{"HOOKRELAY_METRICS_ADDR": "127.0.0.1:8080"}, "",
			`HOOKRELAY_METRICS_ADDR: "127.0.0.1:8080" is the same as HOOKRELAY_ADDR: give metrics a port of its own`},
		{"metrics token", ModeDev, nil, map[string]string{"HOOKRELAY_METRICS_TOKEN": "short"}, "",
			"HOOKRELAY_METRICS_TOKEN: must be at least 16 bytes"},
		{"dev on every interface", ModeDev, nil, map[string]string{"HOOKRELAY_ADDR": ":8080"}, "",
			`HOOKRELAY_ADDR: ":8080" is not a loopback address: relay dev serves demo pages and demo tokens (and, without a token key, every topic) to whoever reaches it; listen on 127.0.0.1, or pass --public (HOOKRELAY_PUBLIC=true) if you mean it`},
		{"dev on a LAN address", ModeDev, []string{"--addr", "192.168.1.20:8080"}, nil, "",
			`--addr: "192.168.1.20:8080" is not a loopback address`},
		{"publish rate", ModeDev, nil, map[string]string{"HOOKRELAY_PUBLISH_RATE": "-1"}, "",
			"HOOKRELAY_PUBLISH_RATE: -1 must not be negative"},
		{"publish burst", ModeDev, nil, map[string]string{"HOOKRELAY_PUBLISH_BURST": "0"}, "",
			"HOOKRELAY_PUBLISH_BURST: 0 must be at least 1 when HOOKRELAY_PUBLISH_RATE is set"},
		{"origin star serve", ModeServe, nil, serveEnv(map[string]string{"HOOKRELAY_ALLOWED_ORIGINS": "*"}), "",
			`HOOKRELAY_ALLOWED_ORIGINS: "*" is not allowed in relay serve`},
		{"origin path", ModeDev, nil, map[string]string{"HOOKRELAY_ALLOWED_ORIGINS": "https://app.example.com/"}, "",
			`HOOKRELAY_ALLOWED_ORIGINS: "https://app.example.com/" is not an origin: scheme://host[:port] only`},
		{"origin scheme", ModeDev, nil, nil, "allowed_origins: [app.example.com]\n",
			`FILE:1: allowed_origins: "app.example.com" is not an origin: want http:// or https://`},
		{"origin case", ModeDev, []string{"--allowed-origins", "https://App.example.com"}, nil, "",
			`--allowed-origins: "https://App.example.com" must be lower case`},
		{"origin port", ModeDev, nil, map[string]string{"HOOKRELAY_ALLOWED_ORIGINS": "https://a.example:99999"}, "",
			"has a bad port"},
		{"log level", ModeDev, nil, map[string]string{"HOOKRELAY_LOG_LEVEL": "verbose"}, "",
			`HOOKRELAY_LOG_LEVEL: "verbose": want debug, info, warn or error`},
		{"log format", ModeDev, []string{"--log-format", "xml"}, nil, "",
			`--log-format: "xml": want json or text`},
		{"api keys dup", ModeDev, nil, map[string]string{"HOOKRELAY_API_KEYS": "ci:k1,ci:k2"}, "",
			`HOOKRELAY_API_KEYS: entry 2: duplicate name "ci"`},
		{"api keys form", ModeDev, nil, map[string]string{"HOOKRELAY_API_KEYS": "justakey"}, "",
			"HOOKRELAY_API_KEYS: entry 1: want name:key"},
		{"api keys name", ModeDev, nil, nil, "api_keys: ['bad name:k']\n",
			"FILE:1: api_keys: entry 1: name must be"},
		{"jwks http serve", ModeServe, nil, map[string]string{"REDIS_URL": "redis://h:1", "HOOKRELAY_JWKS_URL": "http://idp.example/jwks"}, "",
			`HOOKRELAY_JWKS_URL: "http://idp.example/jwks": want https://`},
		{"jwks without issuer", ModeServe, nil, map[string]string{"REDIS_URL": "redis://h:1", "HOOKRELAY_JWKS_URL": "https://idp.example/jwks"}, "",
			`HOOKRELAY_TOKEN_ISSUER: required with a JWKS`},
		{"history page bytes", ModeDev, nil, map[string]string{"HOOKRELAY_HISTORY_PAGE_BYTES": "10"}, "",
			"HOOKRELAY_HISTORY_PAGE_BYTES: 10 must be from 1 KiB to 1 GiB"},
		{"read burst", ModeDev, nil, map[string]string{"HOOKRELAY_READ_BURST": "0"}, "",
			"HOOKRELAY_READ_BURST: 0 must be at least 1 when HOOKRELAY_READ_RATE is set"},
		{"audience", ModeDev, nil, nil, "token_audience: ''\n",
			"FILE:1: token_audience: must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			want := tc.want
			if tc.file != "" {
				p := writeFile(t, "hookrelay.yaml", tc.file)
				env["HOOKRELAY_CONFIG"] = p
				want = strings.ReplaceAll(want, "FILE", p)
			}
			_, err := Load(context.Background(), tc.mode, tc.args, envMap(env))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v\nwant it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks a password: %v", err)
			}
		})
	}
}

func TestValidateAllErrorsAtOnce(t *testing.T) {
	_, err := Load(context.Background(), ModeServe, []string{"--heartbeat", "2m", "--log-level", "loud"}, envMap(nil))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--heartbeat:", "--log-level:", "REDIS_URL:", "HOOKRELAY_TOKEN_KEY:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestValidateWarnings(t *testing.T) {
	c := mustLoad(t, ModeDev, nil, map[string]string{"HOOKRELAY_ALLOWED_ORIGINS": "*", "HOOKRELAY_TOKEN_KEY": "dev"})
	got := strings.Join(c.Warnings, "\n")
	for _, want := range []string{`HOOKRELAY_ALLOWED_ORIGINS: "*" lets any web site`, "HOOKRELAY_TOKEN_KEY: is 3 bytes; relay serve requires at least 32"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q miss %q", got, want)
		}
	}
}

func TestValidateGood(t *testing.T) {
	c := mustLoad(t, ModeServe, []string{"--allowed-origins", "https://app.example.com,http://localhost:3000"},
		map[string]string{"REDIS_URL": "rediss://user:pw@cache.example:6380/0", "HOOKRELAY_TOKEN_KEY": goodKey,
			"HOOKRELAY_API_KEYS": "ci:abc, ops:def", "HOOKRELAY_DRAIN_TIMEOUT": "285s"})
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
	// Lambda: no listener, no token key.
	mustLoad(t, ModeLambda, nil, map[string]string{"REDIS_URL": "redis://h:6379", "HOOKRELAY_ADDR": "nonsense"})
	// JWKS instead of a token key.
	mustLoad(t, ModeServe, nil, map[string]string{"REDIS_URL": "redis://h:6379", "HOOKRELAY_JWKS_URL": "https://idp.example/.well-known/jwks.json", "HOOKRELAY_TOKEN_ISSUER": "https://idp.example/"})
	// IAM region from AWS_REGION.
	c = mustLoad(t, ModeServe, []string{"--redis-iam-auth", "--redis-iam-cluster=hr", "--redis-iam-user=relay"},
		map[string]string{"REDIS_URL": "rediss://hr.serverless.euw1.cache.amazonaws.com:6379", "HOOKRELAY_TOKEN_KEY": goodKey, "AWS_REGION": "eu-west-1"})
	if c.RedisIAMRegion != "eu-west-1" || !c.RedisIAMAuth {
		t.Errorf("iam region %q auth %v", c.RedisIAMRegion, c.RedisIAMAuth)
	}
}

// TestValidateByHand: a Config built in code (tests of other packages)
// validates with env names as keys.
func TestValidateByHand(t *testing.T) {
	c := Defaults(ModeDev)
	c.Heartbeat = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "HOOKRELAY_HEARTBEAT: must be positive") {
		t.Fatalf("err %v", err)
	}
	if err := Defaults(ModeDev).Validate(); err != nil {
		t.Fatalf("dev defaults invalid: %v", err)
	}
}

func TestUnknownEnvWarning(t *testing.T) {
	env := map[string]string{"HOOKRELAY_HEARTBEET": "10s", "HOOKRELAY_ADDR": "127.0.0.1:1", "PATH": "/bin"}
	c := mustLoad(t, ModeDev, nil, env, WithEnviron([]string{"HOOKRELAY_HEARTBEET=10s", "HOOKRELAY_ADDR=127.0.0.1:1", "PATH=/bin", "HOOKRELAY_CONFIG="}))
	if len(c.Warnings) != 1 || c.Warnings[0] != "HOOKRELAY_HEARTBEET: unknown setting, ignored (did you mean HOOKRELAY_HEARTBEAT?)" {
		t.Fatalf("warnings %q", c.Warnings)
	}
}

func TestSizeWarnings(t *testing.T) {
	c := mustLoad(t, ModeDev, []string{"--max-event-bytes", "2MiB", "--ws-read-limit", "1MiB"}, nil)
	got := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"--max-event-bytes: 2MiB is above HOOKRELAY_MAX_BODY_BYTES 1MiB", "--ws-read-limit: 1MiB is below --max-event-bytes 2MiB"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q miss %q", got, want)
		}
	}
}

// TestHistorySizeWarning: a start-up warning when history_len ×
// max_event_bytes passes MaxHistoryTopicBytes; none at the defaults.
func TestHistorySizeWarning(t *testing.T) {
	c := mustLoad(t, ModeDev, nil, map[string]string{"HOOKRELAY_HISTORY_LEN": "10000"})
	got := strings.Join(c.Warnings, "\n")
	if want := "HOOKRELAY_HISTORY_LEN: 10000 events × HOOKRELAY_MAX_EVENT_BYTES 64KiB = up to 625 MiB of Redis per topic (kept HOOKRELAY_HISTORY_TTL, 168h, after its last event)"; !strings.Contains(got, want) {
		t.Errorf("warnings %q miss %q", got, want)
	}
	c = mustLoad(t, ModeDev, nil, map[string]string{"HOOKRELAY_HISTORY_LEN": "4096"}) // exactly 256 MiB
	if len(c.Warnings) != 0 {
		t.Errorf("warnings at the bound: %q", c.Warnings)
	}
}

// TestDevPublic: relay dev listens beyond loopback only with --public
// (M5 of the 2026-12 review); loopback addresses need nothing.
func TestDevPublic(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "127.0.0.2:0"} {
		mustLoad(t, ModeDev, []string{"--addr", addr}, nil)
	}
	c := mustLoad(t, ModeDev, []string{"--addr", ":8080", "--public"}, nil)
	if !c.Public {
		t.Fatal("--public not read")
	}
	c = mustLoad(t, ModeServe, nil, map[string]string{"REDIS_URL": "redis://localhost:6379", "HOOKRELAY_TOKEN_KEY": goodKey, "HOOKRELAY_PUBLIC": "true"})
	if got := strings.Join(c.Warnings, "\n"); !strings.Contains(got, "HOOKRELAY_PUBLIC: only relay dev reads it") {
		t.Errorf("serve with public: warnings %q", got)
	}
}
