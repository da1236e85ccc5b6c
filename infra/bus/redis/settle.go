package redis

import (
	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/event"
)

// Settling a topic brings t.last up to date after a SUBSCRIBE confirmation:
// the stream's tail for a topic seen for the first time, a gap fill for a
// known one (after a reconnect). From then on every publish reaches the
// dispatcher live, so waiting Subscribe calls may start. Topics confirmed in
// the same dispatcher turn are read in one pipeline.

func (d *dispatcher) queueSettle(t *topic) {
	if !t.queued {
		t.queued = true
		d.settling = append(d.settling, t)
	}
}

// settleRead is the pipelined read for one topic: the tail (XREVRANGE
// COUNT 1) for a new topic, the entries after t.last for a known one.
type settleRead struct {
	t   *topic
	cmd *goredis.XMessageSliceCmd
}

func (d *dispatcher) settleQueued() {
	if len(d.settling) == 0 {
		return
	}
	ts := d.settling
	d.settling = nil
	ctx, cancel := d.ctx()
	defer cancel()
	pipe := d.b.client.Pipeline()
	reads := make([]settleRead, 0, len(ts))
	for _, t := range ts {
		t.queued = false
		if d.topics[t.name] != t || !t.confirmed {
			continue // released, or unconfirmed again: a later confirmation settles it
		}
		stream := d.b.keys.stream(t.name)
		var cmd *goredis.XMessageSliceCmd
		if t.known {
			cmd = pipe.XRangeN(ctx, stream, rangeAfter(t.last), "+", int64(d.b.perRead()))
		} else {
			cmd = pipe.XRevRangeN(ctx, stream, "+", "-", 1)
		}
		reads = append(reads, settleRead{t: t, cmd: cmd})
	}
	if len(reads) == 0 {
		return
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error, read below
	for _, r := range reads {
		d.settled(r.t, r.cmd)
		if r.t.ready() {
			for req := range r.t.pending {
				d.tryStart(req)
			}
		}
	}
}

// settled applies one settle read; a failure leaves the topic dirty for
// retryDirty.
func (d *dispatcher) settled(t *topic, cmd *goredis.XMessageSliceCmd) {
	xs, err := cmd.Result()
	if err != nil {
		d.b.metrics.errors.Add(1)
		t.dirty = true
		return
	}
	es, err := parseEntries(xs)
	if err != nil {
		d.log.Error("malformed stream entry", "topic", t.name, "err", err)
		t.dirty = true
		return
	}
	if !t.known {
		t.last = event.ID{}
		if len(es) > 0 {
			t.last = es[0].id
		}
		t.known, t.dirty = true, false
		t.epoch, t.lastEpoch = t.shardEpoch(), t.shardEpoch()
		return
	}
	d.deliverFilled(t, es)
	t.dirty = false
	t.epoch = t.shardEpoch()
	if len(es) == d.b.perRead() {
		d.fill(t) // the rest, page by page
	}
}
