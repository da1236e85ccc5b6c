package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Routing topics to shards. On a single Redis every topic is on the one
// shard. On a cluster a topic goes to the primary that owns its channel's
// slot (the same slot as its stream and dedup keys: they share the {topic}
// hash tag). When a shard's connection breaks (its primary failed, or gave
// up a slot) only that shard's topics are routed again, after go-redis
// reloads the cluster's slot map; each one is re-read from its stream once
// its new SSUBSCRIBE is confirmed, so the gap-fill guarantees are those of a
// single Redis reconnect.

// route puts a new or unrouted topic on its shard and SUBSCRIBEs it there.
func (d *dispatcher) route(t *topic) {
	if !d.sharded {
		d.join(t, d.shards[""])
		return
	}
	ctx, cancel := d.ctx()
	node, err := d.cluster.MasterForKey(ctx, t.channel)
	cancel()
	if err != nil {
		d.log.Debug("no primary for topic yet; retrying", "topic", t.name, "err", err)
		d.unrouted[t] = struct{}{}
		return
	}
	addr := node.Options().Addr
	s := d.shards[addr]
	if s == nil {
		s = d.newShard(addr)
		d.gens++
		s.conn = d.newConn(d.gens, node.SSubscribe(context.Background()), addr)
	}
	d.join(t, s)
}

// join adds t to s and SUBSCRIBEs it; a shard waiting to be routed again
// takes it along.
func (d *dispatcher) join(t *topic, s *shard) {
	delete(d.unrouted, t)
	t.shard = s
	s.topics[t] = struct{}{}
	d.subscribeTopic(t)
}

// unroute takes t off its shard until the next retry routes it again.
func (d *dispatcher) unroute(t *topic) {
	if s := t.shard; s != nil {
		delete(s.topics, t)
		t.shard = nil
		if len(s.topics) == 0 {
			d.dropShardConn(s)
			delete(d.shards, s.addr)
		}
	}
	d.unrouted[t] = struct{}{}
	if d.cluster != nil {
		d.cluster.ReloadState(context.Background())
	}
}

// dropShardConn closes the shard's connection. On a cluster the slot map
// is reloaded (in the background) so the retry finds the new primary.
func (d *dispatcher) dropShardConn(s *shard) {
	if s.conn == nil {
		return
	}
	s.conn.close()
	s.conn = nil
	if d.cluster != nil {
		d.cluster.ReloadState(context.Background())
	}
}

// reroute routes every topic of a lost shard again; the shard itself is
// rebuilt by route if its primary is still the owner.
func (d *dispatcher) reroute(s *shard) {
	ts := make([]*topic, 0, len(s.topics))
	for t := range s.topics {
		ts = append(ts, t)
		t.shard = nil
	}
	delete(d.shards, s.addr)
	for _, t := range ts {
		t.confirmed = false
		d.route(t)
	}
}

// retryRoutes rebuilds lost sharded connections and routes unrouted topics.
// It runs on the retry ticker, which paces reconnect attempts to a node
// that is down.
func (d *dispatcher) retryRoutes() {
	if !d.sharded {
		return
	}
	for _, s := range d.shardList() {
		if s.conn == nil {
			d.reroute(s)
		}
	}
	for t := range d.unrouted {
		d.route(t)
	}
}

// shardList is the shards in address order (a stable order for logs and
// for loops that change d.shards).
func (d *dispatcher) shardList() []*shard {
	out := make([]*shard, 0, len(d.shards))
	for _, s := range d.shards {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *shard) int { return strings.Compare(a.addr, b.addr) })
	return out
}

// checkShardedPubSub refuses a cluster whose servers lack sharded pub/sub
// (Redis < 7): SPUBLISH would fail in every publish.
func checkShardedPubSub(ctx context.Context, c goredis.UniversalClient) error {
	info, err := c.Do(ctx, "COMMAND", "INFO", "spublish").Slice()
	if err != nil {
		return fmt.Errorf("redis bus: COMMAND INFO spublish: %w", err)
	}
	if len(info) == 0 || info[0] == nil {
		return fmt.Errorf("redis bus: this Redis Cluster has no SPUBLISH: sharded pub/sub needs Redis 7 or later")
	}
	return nil
}
