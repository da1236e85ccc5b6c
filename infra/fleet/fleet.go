// Package fleet keeps a record per running relay — id, version, address,
// connections by transport, topics, readiness, Redis latency and a few
// counters — that each relay refreshes and that expires when the relay
// stops refreshing it (crash, network partition): the console's live view
// of the fleet. Redis holds the records every relay shares; Memory is the
// one-process twin of relay dev.
package fleet

import (
	"context"
	"log/slog"
	"sort"
	"time"
)

// Record is one relay as it last described itself.
type Record struct {
	ID       string    `json:"id"`
	Version  string    `json:"version"`
	Addr     string    `json:"addr"`
	Host     string    `json:"host"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Expires  time.Time `json:"expires"`
	Ready    bool      `json:"ready"`
	Draining bool      `json:"draining"`
	// Connections counts open client connections by transport.
	Connections map[string]int `json:"connections"`
	// Topics is the number of topics with local subscribers.
	Topics int `json:"topics"`
	// RedisLatencyMicros is the last PING round trip (0 on the memory bus).
	RedisLatencyMicros int64 `json:"redis_latency_us"`
	// Counters since start; the console turns them into rates.
	Published uint64 `json:"published"`
	Delivered uint64 `json:"delivered"`
	Webhooks  uint64 `json:"webhooks"`
	// LogDropped counts delivery log entries dropped (queue full).
	LogDropped uint64 `json:"log_dropped"`
}

// Store keeps the records.
type Store interface {
	// Put stores r, expiring ttl from now unless put again.
	Put(ctx context.Context, r Record, ttl time.Duration) error
	// Remove deletes a relay's record (clean shutdown).
	Remove(ctx context.Context, id string) error
	// List returns the live records, sorted by id.
	List(ctx context.Context) ([]Record, error)
}

// Refresh puts the record snapshot() returns every ttl/3 until ctx ends,
// then removes it (a clean stop leaves the view at once; a crash leaves it
// within ttl).
func Refresh(ctx context.Context, s Store, ttl time.Duration, snapshot func(ctx context.Context) Record, log *slog.Logger) {
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	var id string
	for {
		r := snapshot(ctx)
		id = r.ID
		pctx, cancel := context.WithTimeout(ctx, ttl/3)
		if err := s.Put(pctx, r, ttl); err != nil && ctx.Err() == nil {
			log.Warn("fleet: refresh failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.Remove(rctx, id); err != nil {
				log.Debug("fleet: remove record", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
	}
}

func sortRecords(rs []Record) []Record {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return rs
}
