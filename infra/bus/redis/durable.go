package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// Durable publishing (Options.WaitReplicas > 0): Redis replicates
// asynchronously, so an event the primary accepted can die with it in a
// failover. With WaitReplicas set, every publish script runs on a connection
// pinned to its topic's primary, followed on that same connection by
// WAIT <replicas> <timeout> (WAIT covers the writes of the connection it is
// sent on). Unless enough replicas acknowledged within WaitTimeout the
// publish fails with ErrUnavailable (a 503 to webhook senders and API
// callers), although the event was appended and may have been delivered:
// the sender retries with the same idempotency key, and the retry is
// answered with the original event once it is replicated, or publishes it
// anew on a promoted replica that never got it. So an event acknowledged
// with a 2xx is on at least WaitReplicas replicas. A duplicate's script
// writes nothing, yet its WAIT still waits for the primary's replication
// offset (so Redis 7.0 behaves, as the test below checks), so a retry
// through another connection is not acknowledged before the original is
// replicated (TestDurablePublishLosesNoAcknowledgedEvent).

// publishDurable publishes preps in order, then WAITs once per primary.
func (b *Publisher) publishDurable(ctx context.Context, preps []prepared) ([]bus.Published, error) {
	conns := make(map[string]*goredis.Conn)
	defer func() {
		for _, c := range conns {
			_ = c.Close() // returns the connection to its pool
		}
	}()
	out := make([]bus.Published, 0, len(preps))
	for _, p := range preps {
		c, err := b.pinned(ctx, conns, p.keys[0])
		if err != nil {
			return nil, b.unavailable("publish "+p.msg.Topic, err)
		}
		keys, args := b.callArgs([]*prepared{&p}, []int{0})
		replies, err := b.scripts.publish.Run(ctx, c, keys, args...).Slice()
		res, err := reply(replies, err, 1, 0)
		if err != nil {
			return nil, b.unavailable("publish "+p.msg.Topic, err)
		}
		pub, err := b.published(p, res)
		if err != nil {
			return nil, err
		}
		out = append(out, pub)
	}
	for addr, c := range conns {
		n, err := c.Wait(ctx, b.opt.WaitReplicas, b.opt.WaitTimeout).Result()
		if err != nil {
			return nil, b.unavailable("wait for replicas of "+addr, err)
		}
		if n < int64(b.opt.WaitReplicas) {
			b.metrics.notReplicated.Add(uint64(len(preps)))
			return nil, b.unavailable("publish", fmt.Errorf("%d of %d replicas acknowledged within %v", n, b.opt.WaitReplicas, b.opt.WaitTimeout))
		}
	}
	return out, nil
}

// pinned returns the call's connection to the primary of key, taking one
// from that primary's pool the first time.
func (b *Publisher) pinned(ctx context.Context, conns map[string]*goredis.Conn, key string) (*goredis.Conn, error) {
	var node *goredis.Client
	switch c := b.client.(type) {
	case *goredis.Client:
		node = c
	case *goredis.ClusterClient:
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		node = n
	default:
		return nil, fmt.Errorf("durable publish: unsupported client %T", b.client)
	}
	addr := node.Options().Addr
	if c := conns[addr]; c != nil {
		return c, nil
	}
	c := node.Conn()
	conns[addr] = c
	return c, nil
}
