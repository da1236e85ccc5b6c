package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// A shard is one pub/sub connection and the topics it carries. On a single
// Redis there is exactly one, for the Bus's lifetime, and go-redis
// reconnects and re-SUBSCRIBEs it by itself. On a Redis Cluster there is one
// per primary that owns a subscribed topic's slot, using sharded pub/sub
// (SSUBSCRIBE; the publish script SPUBLISHes), so each publish reaches only
// its own shard's node and pub/sub capacity grows with shards. A sharded
// connection is never reconnected by go-redis: its resubscribe sends every
// channel in one SSUBSCRIBE, which a cluster refuses (CROSSSLOT) once they
// span slots, and after a failover the topics may belong to a new primary.
// Instead the dispatcher drops a broken shard and routes its topics again
// (sharded.go); the other shards are not touched.
type shard struct {
	// addr is the primary's address on a cluster, "" on a single Redis.
	addr string
	conn *conn // nil while a lost sharded connection waits for its retry
	// healthy: the connection has not reported an error since its last
	// message; only used to log state changes once.
	healthy bool
	// epoch changes (to a value no shard had before) whenever this shard's
	// connection breaks or is replaced: a topic settled in its shard's
	// current epoch has seen every publish since its last id.
	epoch uint64
	// topics carried by this shard.
	topics map[*topic]struct{}
	// unsubPending counts UNSUBSCRIBEs sent per channel whose confirmation
	// has not arrived: a SUBSCRIBE confirmation arriving meanwhile belongs
	// to an earlier SUBSCRIBE of the same channel.
	unsubPending map[string]int
}

func (d *dispatcher) newShard(addr string) *shard {
	d.epochs++
	s := &shard{
		addr:         addr,
		healthy:      true,
		epoch:        d.epochs,
		topics:       make(map[*topic]struct{}),
		unsubPending: make(map[string]int),
	}
	d.shards[addr] = s
	return s
}

// newEpoch gives s an epoch no shard had before and marks its topics
// unconfirmed: every one is re-read from its stream after the next
// confirmation.
func (d *dispatcher) newEpoch(s *shard) {
	d.epochs++
	s.epoch = d.epochs
	for t := range s.topics {
		t.confirmed = false
	}
	clear(s.unsubPending)
}

// shardOf finds the shard whose current connection produced it.
func (d *dispatcher) shardOf(it readItem) *shard {
	for _, s := range d.shards {
		if s.conn != nil && s.conn.gen == it.gen {
			return s
		}
	}
	return nil // from a replaced or closed connection
}

func (d *dispatcher) handleRead(it readItem) {
	s := d.shardOf(it)
	if s == nil {
		return
	}
	switch {
	case it.stale:
		d.log.Warn("pub/sub connection silent past its ping deadline; replacing it", "node", s.addr)
		d.replaceConn(s)
	case it.err != nil:
		d.connectionLost(s, it.err)
	default:
		if !s.healthy {
			d.log.Info("pub/sub connection back", "node", s.addr)
			s.healthy = true
		}
		d.handleMessage(s, it.msg)
	}
}

// connectionLost marks the shard's topics unconfirmed. On a single Redis
// go-redis reconnects and SUBSCRIBEs again, and each confirmation re-reads
// the stream; a sharded connection is dropped and its topics routed again.
func (d *dispatcher) connectionLost(s *shard, err error) {
	if s.healthy {
		d.log.Warn("pub/sub connection lost; topics will be re-read after resubscribing", "node", s.addr, "err", err)
		d.b.metrics.resubscribes.Add(1)
	}
	s.healthy = false
	d.newEpoch(s)
	if d.sharded {
		d.dropShardConn(s)
	}
}

func (d *dispatcher) handleMessage(s *shard, msg any) {
	switch m := msg.(type) {
	case *goredis.Subscription:
		switch m.Kind {
		case "subscribe", "ssubscribe":
			d.confirmed(s, m.Channel)
		case "unsubscribe", "sunsubscribe":
			d.unsubscribed(s, m.Kind, m.Channel)
		}
	case *goredis.Message:
		t := d.byChannel[m.Channel]
		if t == nil || t.shard != s {
			return
		}
		prev, id, js, err := parseLive(m.Payload)
		if err != nil {
			d.log.Error("malformed live message; re-reading the stream", "topic", t.name, "err", err)
			t.dirty = true
			return
		}
		d.live(t, prev, id, js)
	}
}

// unsubscribed handles an UNSUBSCRIBE confirmation, or a cluster node's
// unsolicited SUNSUBSCRIBE when the topic's slot left it (resharding): the
// topic is deaf from here on and is routed again.
func (d *dispatcher) unsubscribed(s *shard, kind, channel string) {
	if n := s.unsubPending[channel]; n > 0 {
		if n > 1 {
			s.unsubPending[channel] = n - 1
		} else {
			delete(s.unsubPending, channel)
		}
		return
	}
	t := d.byChannel[channel]
	if kind != "sunsubscribe" || t == nil || t.shard != s {
		return
	}
	d.log.Info("node gave up a topic's slot; routing the topic again", "node", s.addr, "topic", t.name)
	t.confirmed = false
	d.unroute(t)
}

// replaceConn swaps the shard's pub/sub connection for a new one (stale
// connection, or re-authentication) and SUBSCRIBEs its topics on it.
func (d *dispatcher) replaceConn(s *shard) {
	d.b.metrics.resubscribes.Add(1)
	d.newEpoch(s)
	if d.sharded {
		// Routes may have changed too (a silent primary is often a failed
		// one): route every topic again.
		d.dropShardConn(s)
		d.reroute(s)
		return
	}
	old := s.conn
	d.gens++
	s.conn = d.newConn(d.gens, d.b.client.Subscribe(context.Background()), "")
	channels := make([]string, 0, len(s.topics))
	for t := range s.topics {
		channels = append(channels, t.channel)
	}
	s.conn.subscribe(channels...)
	old.close()
}

// subscribeTopic sends (S)SUBSCRIBE for t on its shard's connection.
func (d *dispatcher) subscribeTopic(t *topic) {
	if t.shard != nil && t.shard.conn != nil {
		t.shard.conn.subscribe(t.channel)
	}
}

// releaseTopic UNSUBSCRIBEs a released topic and forgets it in its shard;
// a cluster shard left without topics closes its connection.
func (d *dispatcher) releaseTopic(t *topic) {
	s := t.shard
	if s == nil {
		delete(d.unrouted, t)
		return
	}
	delete(s.topics, t)
	t.shard = nil
	if s.conn != nil && s.conn.unsubscribe(t.channel) {
		s.unsubPending[t.channel]++
	}
	if d.sharded && len(s.topics) == 0 {
		d.dropShardConn(s)
		delete(d.shards, s.addr)
	}
}
