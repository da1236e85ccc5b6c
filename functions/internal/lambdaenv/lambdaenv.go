// Package lambdaenv is the wiring the Lambda bootstraps share: the JSON
// logger, the Redis bus with timeouts suited to a request/response
// function, and reporting a failed start to the Lambda Runtime API.
package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/logging"
)

// Redis timeouts. A Lambda answers a provider (or a queue) within seconds:
// a stuck or unreachable Redis must turn into a retryable failure (503,
// batch item failure) long before the function's own timeout.
const (
	ConnectTimeout = 5 * time.Second // first PING during init (init phase is capped at 10 s)
	DialTimeout    = 1 * time.Second
	IOTimeout      = 1 * time.Second
	// PoolSize: one invocation at a time per execution environment, a
	// few pipelined calls each.
	PoolSize = 4
)

// Logger returns the logger every hookrelay binary uses (infra/logging:
// same levels, same redaction) at cfg's level and format writing to w
// (stderr goes to CloudWatch Logs). cfg has been validated, so the level
// and format parse; the error is kept for a Config built in code.
func Logger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat, w)
	if err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	return log, nil
}

// ErrRedisConnect marks a start that failed because Redis could not be
// reached, so the init error is reported as Runtime.RedisUnavailable.
var ErrRedisConnect = errors.New("connect to Redis")

// OpenBus connects the publish half of the Redis bus (the Lambdas never
// subscribe, and a redis.Publisher keeps the subscribe side out of their
// zips) with Lambda timeouts; errors name the setting to fix.
func OpenBus(ctx context.Context, cfg *config.Config, log *slog.Logger) (*redis.Publisher, error) {
	o := redis.Options{
		URL:          cfg.RedisURL,
		Username:     cfg.RedisUsername,
		Password:     cfg.RedisPassword,
		Cluster:      cfg.RedisCluster,
		Bus:          cfg.BusOptions(),
		DialTimeout:  DialTimeout,
		ReadTimeout:  IOTimeout,
		WriteTimeout: IOTimeout,
		PoolSize:     PoolSize,
		Logger:       log,
		WaitReplicas: cfg.RedisWaitReplicas,
		WaitTimeout:  cfg.RedisWaitTimeout,
	}
	creds, err := cfg.RedisCredentialsProvider(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Key("redis_iam_auth"), err)
	}
	o.CredentialsProvider = creds
	cctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	b, err := redis.NewPublisher(cctx, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cfg.Key("redis_url"), ErrRedisConnect, err)
	}
	return b, nil
}

// ReportInitError tells the Runtime API (POST /runtime/init/error) why the
// function could not start, so the invocation fails with that message
// instead of a bare "Runtime exited". The caller exits afterwards.
func ReportInitError(ctx context.Context, getenv func(string) string, cause error) error {
	api := getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return fmt.Errorf("report init error: AWS_LAMBDA_RUNTIME_API not set")
	}
	msg := cause.Error()
	typ := "Runtime.ConfigError"
	if errors.Is(cause, ErrRedisConnect) {
		typ = "Runtime.RedisUnavailable"
	}
	body, err := json.Marshal(map[string]any{"errorMessage": msg, "errorType": typ})
	if err != nil {
		return fmt.Errorf("report init error: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("report init error: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", typ)
	// No proxy: the Runtime API is local to the execution environment.
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("report init error: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("report init error: runtime API answered %s", resp.Status)
	}
	return nil
}
