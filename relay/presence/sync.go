package presence

import (
	"context"
	"time"

	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// minSyncTimeout bounds one sync when the interval is shorter.
const minSyncTimeout = 2 * time.Second

// Run syncs every interval until Close. Run it on its own goroutine.
func (t *Tracker) Run() {
	defer close(t.done)
	tick := time.NewTicker(t.o.Interval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(t.o.Interval, minSyncTimeout))
			t.Sync(ctx)
			cancel()
		}
	}
}

// Close stops Run (if it was started) and, within ctx, tells the store
// that this node holds nobody any more, so that its members leave at once
// instead of after the TTL. Call it after the hub closed its clients.
func (t *Tracker) Close(ctx context.Context, started bool) {
	close(t.stop)
	if started {
		<-t.done
	}
	t.mu.Lock()
	for _, ts := range t.topics {
		clear(ts.local)
		clear(ts.watch)
		for sub := range ts.sent {
			ts.dirty[sub] = struct{}{}
		}
	}
	clear(t.clients)
	t.mu.Unlock()
	t.Sync(ctx)
}

// batch is one topic's part of a sync.
type batch struct {
	ts  *topicState
	req presence.SyncRequest
}

// Sync does one round: one store call for every active topic, then the
// updates and snapshots to watchers. Run calls it every interval; tests
// call it to step the tracker.
func (t *Tracker) Sync(ctx context.Context) {
	start := time.Now()
	batches := t.collect()
	if len(batches) == 0 {
		return
	}
	reqs := make([]presence.SyncRequest, len(batches))
	for i, b := range batches {
		reqs[i] = b.req
	}
	res, err := t.store.Sync(ctx, t.o.Node, reqs)
	t.m.syncSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		t.m.errors.Inc()
		t.log.Warn("presence sync failed; retrying next interval", "topics", len(reqs), "err", err)
		return
	}
	var out outbox
	t.mu.Lock()
	for i, b := range batches {
		t.apply(b, res[i], &out)
	}
	t.mu.Unlock()
	out.send()
	t.snapshots(ctx, out.snap)
}

// collect builds each active topic's request and forgets idle topics.
func (t *Tracker) collect() []batch {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]batch, 0, len(t.topics))
	for topic, ts := range t.topics {
		if len(ts.local) == 0 && len(ts.sent) == 0 && len(ts.watch) == 0 {
			delete(t.topics, topic)
			t.m.topics.Dec()
			continue
		}
		req := presence.SyncRequest{Topic: topic, Held: len(ts.sent) > 0}
		for sub := range ts.dirty {
			_, have := ts.local[sub]
			_, sent := ts.sent[sub]
			switch {
			case have && !sent:
				req.Join = append(req.Join, presence.Member{Sub: sub, Name: ts.local[sub].name})
			case !have && sent:
				req.Leave = append(req.Leave, sub)
			}
		}
		if len(ts.watch) > 0 {
			req.After = ts.pos
		} else {
			ts.pos = "" // nobody reads: do not keep a position
		}
		out = append(out, batch{ts: ts, req: req})
	}
	return out
}

// apply records one topic's result and queues what its watchers get.
func (t *Tracker) apply(b batch, r presence.SyncResult, out *outbox) {
	ts := b.ts
	if r.Err != nil {
		t.m.errors.Inc()
		t.log.Warn("presence sync of a topic failed; retrying next interval", "topic", r.Topic, "err", r.Err)
		return
	}
	for _, m := range b.req.Join {
		ts.sent[m.Sub] = struct{}{}
	}
	for _, sub := range b.req.Leave {
		delete(ts.sent, sub)
	}
	if r.Lost {
		// Expired by another node while we could not reach the store:
		// join everyone we hold again.
		clear(ts.sent)
		for sub := range ts.local {
			ts.dirty[sub] = struct{}{}
		}
	}
	for sub := range ts.dirty {
		_, have := ts.local[sub]
		_, sent := ts.sent[sub]
		if have == sent {
			delete(ts.dirty, sub)
		}
	}
	wasCountOnly, oldCount := ts.countOnly, ts.count
	ts.count, ts.countOnly = r.Count, r.Count > t.o.MaxMembers
	if len(ts.watch) == 0 {
		return
	}
	first := ts.pos == ""
	ts.pos = r.Pos
	if r.Gap || (wasCountOnly && !ts.countOnly) {
		ts.resync = true
	}
	if !first && !ts.resync {
		if js := encodeUpdate(r.Topic, ts.count, ts.countOnly, oldCount, r.Changes); js != nil {
			out.update(ts, r.Topic, js)
		}
	}
	out.wantSnapshot(ts, r.Topic)
}

// outbox collects the frames of one sync, sent after the tracker's lock
// is released (a client's queue has a lock of its own).
type outbox struct {
	frames []frame
	snap   []snapshotReq
}

type frame struct {
	c     *hub.Client
	topic string
	js    []byte
}

type snapshotReq struct {
	topic     string
	count     int
	countOnly bool
	to        []*hub.Client
}

// update sends js to the watchers that already have a snapshot.
func (o *outbox) update(ts *topicState, topic string, js []byte) {
	for c, fresh := range ts.watch {
		if !fresh {
			o.frames = append(o.frames, frame{c: c, topic: topic, js: js})
		}
	}
}

// wantSnapshot queues a snapshot for fresh watchers, or every watcher
// after a resync.
func (o *outbox) wantSnapshot(ts *topicState, topic string) {
	var to []*hub.Client
	for c, fresh := range ts.watch {
		if fresh || ts.resync {
			to = append(to, c)
			ts.watch[c] = false
		}
	}
	ts.resync = false
	if len(to) > 0 {
		o.snap = append(o.snap, snapshotReq{topic: topic, count: ts.count, countOnly: ts.countOnly, to: to})
	}
}

func (o *outbox) send() {
	for _, f := range o.frames {
		f.c.SendPresence(f.topic, f.js)
	}
}

// snapshots reads and sends each requested topic's member list, once per
// topic whatever the number of watchers. It is read after the sync, so it
// already holds every change the sync returned; a change between the two
// reads comes again in the next update, and applying a join of a present
// member or a leave of an absent one changes nothing.
func (t *Tracker) snapshots(ctx context.Context, reqs []snapshotReq) {
	for _, r := range reqs {
		var members []presence.Member
		count, countOnly := r.count, r.countOnly
		if !countOnly {
			var err error
			members, count, countOnly, err = t.readAll(ctx, r.topic)
			if err != nil {
				t.m.errors.Inc()
				t.log.Warn("presence snapshot failed; retrying next interval", "topic", r.topic, "err", err)
				t.mu.Lock()
				if ts := t.topics[r.topic]; ts != nil {
					for _, c := range r.to {
						if _, ok := ts.watch[c]; ok {
							ts.watch[c] = true
						}
					}
				}
				t.mu.Unlock()
				continue
			}
		}
		js := encodeSnapshot(r.topic, count, countOnly, members)
		for _, c := range r.to {
			c.SendPresence(r.topic, js)
		}
	}
}

// readAll reads every page of a topic's members (at most MaxMembers).
func (t *Tracker) readAll(ctx context.Context, topic string) ([]presence.Member, int, bool, error) {
	var all []presence.Member
	after := ""
	for {
		p, err := t.store.Members(ctx, topic, after, presence.MaxPageLimit)
		if err != nil {
			return nil, 0, false, err
		}
		if p.CountOnly {
			return nil, p.Count, true, nil
		}
		all = append(all, p.Members...)
		if p.Next == "" || len(all) >= t.o.MaxMembers {
			return all, p.Count, false, nil
		}
		after = p.Next
	}
}
