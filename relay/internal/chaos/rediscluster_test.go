package chaos

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestChaosRedisClusterFailover: the relays run on a Redis Cluster of three
// primaries, each with a replica (sharded pub/sub: each topic's events go
// to its shard's nodes only). Mid-stream one primary is SIGKILLed; the
// cluster promotes its replica. Publishes to that shard's topics fail
// (503, retried) until then; the relays resubscribe that shard only and
// fill from the streams. Checked: nothing lost silently or duplicated;
// every subscriber stream of a topic on the failed shard got a truncated
// signal (the promoted primary cannot know whether the dead one
// acknowledged events it never replicated), and no stream of a topic on
// the two other shards did.
func TestChaosRedisClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node Redis Cluster")
	}
	rc := redistest.StartCluster(t, 3, 1)
	r := newRun(t, clusterOpts{redisCluster: rc})
	victim := rc.Addrs[0]
	onVictim := topicsOn(t, rc.Addrs[1], r.pub.topics, victim)
	if len(onVictim) == 0 || len(onVictim) == len(r.pub.topics) {
		t.Fatalf("topics on the victim's shard: %v of %v; the scenario needs some on each side", onVictim, r.pub.topics)
	}
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.sc.publishFor *= 2 // publishing to the shard resumes once its replica is promoted
	redeliverable := make(seqSet)
	start := time.Now()
	var killed time.Time
	var down time.Duration
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		// A stream's truncated signal needs a position before the failover.
		waitFor(t, "every subscriber has seen an event of each topic", driveTimeout, func() bool { return haveCursors(r.f.subs) })
		redeliverable.add(r.pub.inflightNow())
		killed = time.Now()
		rc.Kill(0)
		redeliverable.add(r.pub.inflightNow())
		before := r.pub.count(onVictim[0])
		waitFor(t, "a publish accepted on the failed shard again", driveTimeout, func() bool { return r.pub.count(onVictim[0]) > before+1 })
		down = time.Since(killed)
	})
	r.finish("redis-cluster-failover", checkOpts{redeliverable: redeliverable})
	gaps := make(map[bool]time.Duration) // on the victim's shard -> longest pause between accepted events around the kill
	for _, tp := range r.pub.topics {
		on := slices.Contains(onVictim, tp)
		gaps[on] = max(gaps[on], r.pub.longestGap(tp, killed.Add(-time.Second), killed.Add(down)))
	}
	t.Logf("CHAOS redis-cluster-failover %d of %d topics on the killed primary's shard; publishing there resumed %s after the kill; longest pause between accepted events: failed shard %s, other shards %s; relays counted %v truncations, %v resubscribes",
		len(onVictim), len(r.pub.topics), down.Round(time.Millisecond), gaps[true].Round(time.Millisecond), gaps[false].Round(time.Millisecond),
		r.c.metricSum("hookrelay_bus_truncations_total"), r.c.metricSum("hookrelay_bus_resubscribes_total"))
	for _, s := range r.f.subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			got := slices.ContainsFunc(s.obs[tp], func(o observation) bool { return o.trunc })
			switch on := slices.Contains(onVictim, tp); {
			case on && !got:
				t.Errorf("sub %d %s (failed shard): no truncated signal", s.n, tp)
			case !on && got:
				t.Errorf("sub %d %s (untouched shard): truncated signal", s.n, tp)
			}
		}
		s.mu.Unlock()
	}
}

// topicsOn lists the topics whose stream key (hr:{topic}:s) is in a slot
// served by primary, from the slot map addr answers.
func topicsOn(t *testing.T, addr string, topics []string, primary string) []string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER SHARDS: %v", err)
	}
	var ranges []goredis.SlotRange
	for _, sh := range shards {
		for _, n := range sh.Nodes {
			if n.Role == "master" && net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10)) == primary {
				ranges = append(ranges, sh.Slots...)
			}
		}
	}
	var out []string
	for _, tp := range topics {
		slot, err := c.ClusterKeySlot(ctx, "hr:{"+tp+"}:s").Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT: %v", err)
		}
		if slices.ContainsFunc(ranges, func(r goredis.SlotRange) bool { return r.Start <= slot && slot <= r.End }) {
			out = append(out, tp)
		}
	}
	return out
}

// longestGap is the longest time between consecutive accepted events of
// topic that falls in [from, to].
func (p *publisher) longestGap(topic string, from, to time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var longest time.Duration
	as := p.accepted[topic]
	for i := 1; i < len(as); i++ {
		if as[i].at.Before(from) || as[i-1].at.After(to) {
			continue
		}
		longest = max(longest, as[i].at.Sub(as[i-1].at))
	}
	return longest
}
