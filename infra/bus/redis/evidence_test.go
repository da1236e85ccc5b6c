package redis

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// TestShardedPubSubEvidence prints, for the same load, what each cluster
// node handles: one shard, three shards with sharded pub/sub, and three
// shards with classic (broadcast) pub/sub. Three buses (three relays)
// subscribe every topic; the load is published through a fourth.
// Run with HOOKRELAY_REDIS_EVIDENCE=1 (docs/operations.md quotes it).
func TestShardedPubSubEvidence(t *testing.T) {
	if os.Getenv("HOOKRELAY_REDIS_EVIDENCE") == "" {
		t.Skip("set HOOKRELAY_REDIS_EVIDENCE=1 to print the per-node pub/sub figures")
	}
	const topics, events, relays = 30, 3000, 3
	for _, c := range []struct {
		name      string
		primaries int
		classic   bool
	}{{"1 shard", 1, false}, {"3 shards sharded", 3, false}, {"3 shards classic", 3, true}} {
		addrs := startCluster(t, c.primaries)
		mod := func(o *Options) { o.ClassicPubSub = c.classic }
		var recs []*recorder
		for range relays {
			b := newClusterBus(t, addrs, "ev", mod)
			rec := newRecorder()
			var ts []string
			for i := range topics {
				ts = append(ts, fmt.Sprintf("ev:%d", i))
			}
			sub, err := b.Subscribe(context.Background(), ts, event.Cursor{}, rec)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			recs = append(recs, rec)
		}
		pub := newClusterBus(t, addrs, "ev", mod)
		start := time.Now()
		for i := range events {
			if _, err := pub.Publish(context.Background(), []bus.Message{msg(fmt.Sprintf("ev:%d", i%topics), i)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range recs {
			r.waitFor(t, events, time.Minute)
		}
		took := time.Since(start)
		sort.Strings(addrs)
		t.Logf("%s: %d events on %d topics, %d subscribing relays, %v", c.name, events, topics, relays, took.Round(time.Millisecond))
		t.Logf("  %-16s %10s %10s %12s %14s %14s", "node", "SPUBLISH", "PUBLISH", "bus-fwd-recv", "net-out-bytes", "pubsub-ch")
		for _, a := range addrs {
			nc := goredis.NewClient(&goredis.Options{Addr: a})
			cmds, _ := nc.Info(context.Background(), "commandstats").Result() // empty on error: the row shows zeros
			stats, _ := nc.Info(context.Background(), "stats").Result()       // as above
			_ = nc.Close()                                                    // nothing to do about a close error
			t.Logf("  %-16s %10d %10d %12d %14d %14d", a,
				cmdCalls(cmds, "spublish"), cmdCalls(cmds, "publish"),
				clusterInfoField(t, a, "cluster_stats_messages_publish_received")+clusterInfoField(t, a, "cluster_stats_messages_publishshard_received"),
				infoField(stats, "total_net_output_bytes"),
				infoField(stats, "pubsubshard_channels")+infoField(stats, "pubsub_channels"))
		}
	}
}

// cmdCalls reads calls=N of cmdstat_<name> from INFO commandstats.
func cmdCalls(info, name string) int64 {
	var n int64
	for _, line := range splitLines(info) {
		if _, err := fmt.Sscanf(line, "cmdstat_"+name+":calls=%d", &n); err == nil {
			return n
		}
	}
	return 0
}
