package main

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/fleet"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// waitRecord polls the fleet until cond holds for the only record (or,
// with want0, until there is none), within timeout.
func waitRecord(t *testing.T, s fleet.Store, what string, timeout time.Duration, want0 bool, cond func(fleet.Record) bool) fleet.Record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []fleet.Record
	for time.Now().Before(deadline) {
		rs, err := s.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last = rs
		if want0 && len(rs) == 0 {
			return fleet.Record{}
		}
		if !want0 && len(rs) == 1 && cond(rs[0]) {
			return rs[0]
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	t.Fatalf("%s: not within %s; fleet %+v", what, timeout, last)
	return fleet.Record{}
}

// TestFleetRecord: a relay describes itself in Redis (address, readiness,
// Redis latency, connections by transport, topics), shows draining after
// SIGTERM and removes its record when it stops cleanly.
func TestFleetRecord(t *testing.T) {
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL(),
		Env: []string{"HOOKRELAY_FLEET_TTL=3s", "HOOKRELAY_DRAIN_GRACE=3s"}})
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer c.Close()
	s := fleet.NewRedis(c, "hr")

	tok := r.Token(t, "fleet-test", []string{"order:*"}, nil)
	sub := subscribe(t, r.URL, client.SSE, tok, "order:1042", "order:7")
	sub.waitOpen(t, 1)
	rec := waitRecord(t, s, "record with the SSE connection", 10*time.Second, false, func(x fleet.Record) bool {
		return x.Connections["sse"] == 1 && x.Topics == 2
	})
	if !rec.Ready || rec.Draining || rec.Addr != r.Addr || rec.RedisLatencyMicros <= 0 || rec.Version == "" || rec.ID == "" {
		t.Fatalf("record %+v: want ready, not draining, addr %s, a Redis latency, version and id", rec, r.Addr)
	}

	r.Term(t)
	waitRecord(t, s, "draining shown", 10*time.Second, false, func(x fleet.Record) bool { return x.Draining && !x.Ready })
	if _, err := r.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Removed on a clean stop, not left to expire.
	if rs, err := s.List(context.Background()); err != nil || len(rs) != 0 {
		t.Fatalf("after a clean stop the fleet holds %+v (%v), want nothing", rs, err)
	}
}
