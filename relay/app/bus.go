package app

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
func openBus(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (bus.Bus, string, error) {
	if cfg.RedisURL == "" {
		if cfg.Mode != config.ModeDev {
			return nil, "", fmt.Errorf("%s: required by relay %s", cfg.Key("redis_url"), cfg.Mode)
		}
		return memory.New(cfg.BusOptions()), "memory", nil
	}
	o := redis.Options{
		URL:      cfg.RedisURL,
		Cluster:  cfg.RedisCluster,
		Username: cfg.RedisUsername,
		Password: cfg.RedisPassword,
		Bus:      cfg.BusOptions(),
		Logger:   log,

		WaitReplicas: cfg.RedisWaitReplicas,
		WaitTimeout:  cfg.RedisWaitTimeout,
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
	registerRedisStats(reg, b)
	return b, "redis", nil
}

// registerRedisStats exports the Redis bus's counters (the bus package
// keeps plain counters so infra stays free of a metrics library).
func registerRedisStats(reg prometheus.Registerer, b *redis.Bus) {
	counter := func(name, help string, get func(redis.Stats) uint64) prometheus.Collector {
		return statsCounter(b.Stats, name, help, get)
	}
	reg.MustRegister(
		counter("hookrelay_bus_published_total", "Messages appended by the Redis publish script.",
			func(s redis.Stats) uint64 { return s.Published }),
		counter("hookrelay_bus_duplicates_total", "Publishes answered with the original event (idempotency key seen).",
			func(s redis.Stats) uint64 { return s.Duplicates }),
		counter("hookrelay_bus_errors_total", "Failed Redis operations (publish, read, subscribe).",
			func(s redis.Stats) uint64 { return s.Errors }),
		counter("hookrelay_bus_resubscribes_total", "Pub/sub connection losses or replacements after which topics were re-read from their streams.",
			func(s redis.Stats) uint64 { return s.Resubscribes }),
		counter("hookrelay_bus_truncations_total", "Truncated signals given to subscriptions (history trimmed past a cursor).",
			func(s redis.Stats) uint64 { return s.Truncations }),
		counter("hookrelay_bus_publish_pipelines_total", "Round trips to Redis that carried publish scripts (concurrent publishes share them).",
			func(s redis.Stats) uint64 { return s.PublishPipelines }),
		counter("hookrelay_bus_publish_calls_total", "Publish script calls (concurrent publishes share them; published over calls is the mean messages per call).",
			func(s redis.Stats) uint64 { return s.PublishCalls }),
		counter("hookrelay_bus_resume_requests_total", "History pages and subscribe replays asked for after a position (resuming clients).",
			func(s redis.Stats) uint64 { return s.HistoryRequests + s.ReplayRequests }),
		counter("hookrelay_bus_resume_reads_total", "Redis stream reads that served them (shared per topic among concurrent resumes).",
			func(s redis.Stats) uint64 { return s.HistoryReads + s.ReplayReads }),
		counter("hookrelay_bus_start_requests_total", "Start positions looked up for connections without a cursor (the topic's newest event).",
			func(s redis.Stats) uint64 { return s.LatestRequests }),
		counter("hookrelay_bus_start_reads_total", "Redis reads that served them (shared per topic among concurrent connects).",
			func(s redis.Stats) uint64 { return s.LatestReads }),
		counter("hookrelay_bus_pool_timeouts_total", "Redis calls that waited past the pool timeout for a connection of this node (node overloaded; Redis may be fine).",
			func(s redis.Stats) uint64 { return s.PoolTimeouts }),
		counter("hookrelay_bus_not_replicated_total", "Publishes refused (503) because too few replicas acknowledged them (HOOKRELAY_REDIS_WAIT_REPLICAS).",
			func(s redis.Stats) uint64 { return s.NotReplicated }),
	)
}
