package redis

import (
	"sort"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/event"
)

// Replay reads of Subscribe calls that start in the same dispatcher turn
// are shared per topic: one XRANGE from the smallest position any of them
// asked for, each request taking the entries after its own position. In a
// reconnect storm (every client of a dead relay resuming the same topics
// from nearby cursors) the Redis work grows with topics, not with clients.

// replayRead is one topic's shared replay read.
type replayRead struct {
	topic string
	from  event.ID
	cmd   *goredis.XMessageSliceCmd
	es    []entry
	err   error
}

// readReplays reads the replays of reqs, one pipelined XRANGE per topic,
// and returns each request's entries per topic, or its error.
func (d *dispatcher) readReplays(reqs []*subReq) (map[*subReq]map[string][]entry, map[*subReq]error) {
	reads := make(map[string]*replayRead)
	var order []*replayRead
	asked := 0
	for _, req := range reqs {
		for _, name := range req.sub.topics {
			pos, ok := req.from.Get(name)
			if !ok {
				continue
			}
			asked++
			if caughtUp(d.topics[name], pos) {
				continue
			}
			r := reads[name]
			if r == nil {
				r = &replayRead{topic: name, from: pos}
				reads[name] = r
				order = append(order, r)
			} else if pos.Compare(r.from) < 0 {
				r.from = pos
			}
		}
	}
	if len(order) > 0 {
		ctx, cancel := d.ctx()
		pipe := d.b.client.Pipeline()
		for _, r := range order {
			r.cmd = pipe.XRangeN(ctx, d.b.keys.stream(r.topic), rangeAfter(r.from), "+", int64(d.b.perRead()))
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error, read by finishRead
		cancel()
		for _, r := range order {
			r.es, r.err = d.finishRead(r)
		}
		d.b.metrics.replayReads.Add(uint64(len(order)))
	}
	d.b.metrics.replayRequests.Add(uint64(asked))
	replays := make(map[*subReq]map[string][]entry, len(reqs))
	failed := make(map[*subReq]error)
	for _, req := range reqs {
		for _, name := range req.sub.topics {
			pos, ok := req.from.Get(name)
			if !ok {
				continue
			}
			r := reads[name]
			if r == nil {
				continue // caught up: everything after pos arrives live
			}
			if r.err != nil {
				failed[req] = r.err
				break
			}
			if replays[req] == nil {
				replays[req] = make(map[string][]entry)
			}
			replays[req][name] = entriesAfter(r.es, pos)
		}
	}
	return replays, failed
}

// caughtUp reports whether a request at pos needs no replay read: the
// topic is ready, so every event after t.last reaches its subscriptions
// live, and pos is not behind t.last. This is the common case of a
// reconnect storm, where each client first pages history up to the
// stream's tail and then subscribes from there.
func caughtUp(t *topic, pos event.ID) bool {
	return t != nil && t.ready() && pos.Compare(t.last) >= 0
}

// finishRead parses a pipelined replay read and reads the rest of a replay
// longer than one page.
func (d *dispatcher) finishRead(r *replayRead) ([]entry, error) {
	xs, err := r.cmd.Result()
	if err != nil {
		return nil, d.b.unavailable("replay "+r.topic, err)
	}
	es, err := parseEntries(xs)
	if err != nil {
		return nil, d.b.unavailable("replay "+r.topic, err)
	}
	if len(es) < d.b.perRead() {
		return es, nil
	}
	more, err := d.readAll(r.topic, es[len(es)-1].id)
	if err != nil {
		return nil, err
	}
	return append(es, more...), nil
}

// entriesAfter is the suffix of es (ascending ids) after pos.
func entriesAfter(es []entry, pos event.ID) []entry {
	i := sort.Search(len(es), func(i int) bool { return es[i].id.Compare(pos) > 0 })
	return es[i:]
}
