package chaos

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestChaosRedisFailoverNotDurable: the failover of TestChaosRedisFailover
// with durability off (no HOOKRELAY_REDIS_WAIT_REPLICAS, the default). The
// replication link is held back while events are published and
// acknowledged, so the old primary dies with acknowledged events its
// replica never got. A quarter of the subscribers are away from before the
// link stalls until after the failover. The test counts the acknowledged
// events the promoted replica lacks, and every subscriber, connected or
// away, must get an explicit truncated signal where its stream skips them:
// the loss is documented, never a silent gap.
func TestChaosRedisFailoverNotDurable(t *testing.T) {
	r := newRun(t, clusterOpts{redisProxy: true})
	lr := startLinkedReplica(t, r)
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	away := r.f.subs[:len(r.f.subs)/4]
	r.sc.publishFor *= 2
	redeliverable := make(seqSet)
	start := time.Now()
	var paused, killed time.Time
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		waitFor(t, "every subscriber about to go away has seen an event of each topic", driveTimeout, func() bool { return haveCursors(away) })
		for _, s := range away {
			s.stop()
		}
		lr.link.Pause()
		paused = time.Now()
		// Acknowledged after the link stalled: on the primary only.
		waitFor(t, "an event acknowledged on a topic of every away subscriber after the link stalled", driveTimeout, func() bool {
			return missedSome(r.pub, away) && acceptedBetween(r.pub, paused, time.Now()) >= len(r.pub.topics)
		})
		redeliverable.add(r.pub.inflightNow())
		killed = time.Now()
		lr.failover(t, r)
		redeliverable.add(r.pub.inflightNow())
		for _, s := range away {
			s.start()
		}
	})
	lost := lostAcknowledged(t, r.pub, lr.replica.addr)
	tl := r.finish("failover-no-wait", checkOpts{redeliverable: redeliverable})
	t.Logf("CHAOS failover-no-wait acknowledged=%d acknowledged_then_lost=%d (acknowledged while the link stalled: %d); subscriber streams that skipped lost events after a truncated signal: %d events; relays counted %v truncations",
		r.pub.total(), lost, acceptedBetween(r.pub, paused, killed), tl.truncLost, r.c.metricSum("hookrelay_bus_truncations_total"))
	if lost == 0 {
		t.Error("the failover lost no acknowledged event: the scenario shows nothing")
	}
	// verify (in finish) failed every stream that skipped an event without
	// a truncated signal; the away subscribers did skip the lost ones.
	if lost > 0 && tl.truncLost == 0 {
		t.Error("acknowledged events were lost, yet no subscriber stream skipped one after a truncated signal")
	}
}

// acceptedBetween counts the events accepted in [from, to).
func acceptedBetween(p *publisher, from, to time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, as := range p.accepted {
		for _, a := range as {
			if !a.at.Before(from) && a.at.Before(to) {
				n++
			}
		}
	}
	return n
}

// lostAcknowledged counts the accepted events whose ids the promoted
// replica's streams lack (the bus's stream key is hr:{topic}:s).
func lostAcknowledged(t *testing.T, p *publisher, addr string) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	lost := 0
	for _, tp := range p.topics {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		es, err := c.XRange(ctx, "hr:{"+tp+"}:s", "-", "+").Result()
		cancel()
		if err != nil {
			t.Fatalf("XRANGE %s on the promoted replica: %v", tp, err)
		}
		have := make(map[string]bool, len(es))
		for _, e := range es {
			have[e.ID] = true
		}
		for seq := range p.count(tp) {
			if !have[p.idOf(tp, seq)] {
				lost++
			}
		}
	}
	return lost
}
