package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/config"
)

// connectTimeout bounds the first contact with Redis at start: a relay
// that cannot reach it fails fast and the orchestrator restarts it.
const connectTimeout = 15 * time.Second

// openBus returns the memory bus (dev without REDIS_URL) or the Redis bus.
func openBus(ctx context.Context, cfg *config.Config, log *slog.Logger, _ prometheus.Registerer) (bus.Bus, string, error) {
	if cfg.RedisURL == "" {
		if cfg.Mode != config.ModeDev {
			return nil, "", fmt.Errorf("%s: required by relay %s", cfg.Key("redis_url"), cfg.Mode)
		}
		return memory.New(cfg.BusOptions()), "memory", nil
	}
	o := redis.Options{
		URL:      cfg.RedisURL,
		Username: cfg.RedisUsername,
		Password: cfg.RedisPassword,
		Bus:      cfg.BusOptions(),
		Logger:   log,
	}
	// ElastiCache IAM auth: a fresh SigV4 token for every connection (nil
	// when HOOKRELAY_REDIS_IAM_AUTH is off).
	creds, err := cfg.RedisCredentialsProvider(ctx)
	if err != nil {
		return nil, "", err
	}
	o.CredentialsProvider = creds
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	b, err := redis.New(cctx, o)
	if err != nil {
		return nil, "", fmt.Errorf("%s: connect to Redis: %w", cfg.Key("redis_url"), err)
	}
	return b, "redis", nil
}
