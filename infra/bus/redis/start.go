package redis

import "github.com/hookrelay/hookrelay/infra/event"

// Starting subscriptions: a Subscribe call registers its topics (sending
// SUBSCRIBE where needed), waits until every topic is confirmed and settled,
// then reads its replay and is attached. Requests that become startable in
// the same dispatcher turn share one pipelined read, so a reconnect storm
// costs a round trip per turn, not per client.

func (d *dispatcher) handleSubscribe(req *subReq) {
	for _, name := range req.sub.topics {
		t := d.topics[name]
		if t == nil {
			t = &topic{
				name:    name,
				channel: d.b.keys.channel(name),
				subs:    make(map[*subscription]struct{}),
				pending: make(map[*subReq]struct{}),
			}
			d.topics[name] = t
			d.byChannel[t.channel] = t
			t.pending[req] = struct{}{}
			d.route(t) // sends the first SUBSCRIBE
			continue
		}
		t.pending[req] = struct{}{}
		if !t.confirmed {
			// Also for a topic already waiting: SUBSCRIBE is idempotent
			// and each one is confirmed, so a lost confirmation cannot
			// leave this request waiting forever.
			d.subscribeTopic(t)
		}
	}
	d.tryStart(req)
}

// tryStart queues req for startReady once all its topics are ready.
func (d *dispatcher) tryStart(req *subReq) {
	if req.queued || !d.allReady(req) {
		return
	}
	req.queued = true
	d.startable = append(d.startable, req)
}

func (d *dispatcher) allReady(req *subReq) bool {
	for _, name := range req.sub.topics {
		if t := d.topics[name]; t == nil || !t.ready() {
			return false
		}
	}
	return true
}

// startReady reads the replays of every startable request in one pipeline,
// then attaches each request and delivers its replay. A request whose read
// failed is detached with the error, before anything was delivered to it.
func (d *dispatcher) startReady() {
	if len(d.startable) == 0 {
		return
	}
	var reqs []*subReq
	for _, req := range d.startable {
		req.queued = false
		switch {
		case !d.allReady(req):
			// A topic went unready since (connection lost): the next
			// confirmation queues the request again.
		case !req.start():
			d.detachReq(req) // its caller gave up
		default:
			reqs = append(reqs, req)
		}
	}
	d.startable = nil
	replays, failed := d.readReplays(reqs)
	for _, req := range reqs {
		if err := failed[req]; err != nil {
			d.detachReq(req)
			req.done <- err
			continue
		}
		d.attach(req, replays[req])
	}
}

// attach makes req's subscription live on its topics and delivers its
// replay; Subscribe returns once this is done.
func (d *dispatcher) attach(req *subReq, replays map[string][]entry) {
	sub := req.sub
	for _, name := range sub.topics {
		t := d.topics[name]
		delete(t.pending, req)
		t.subs[sub] = struct{}{}
		pos, ok := req.from.Get(name)
		if !ok {
			sub.last[name] = t.last
			continue
		}
		sub.last[name] = pos
		for _, e := range replays[name] {
			d.deliverEntry(t, sub, e)
		}
	}
	req.done <- nil
}

// readAll reads every entry after pos, page by page.
func (d *dispatcher) readAll(name string, pos event.ID) ([]entry, error) {
	var all []entry
	for {
		ctx, cancel := d.ctx()
		es, more, err := d.b.readAfter(ctx, name, pos, fillPage)
		cancel()
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
		if !more && len(es) < fillPage {
			return all, nil
		}
		pos = es[len(es)-1].id
	}
}

// detachReq forgets a Subscribe call that failed or was cancelled.
func (d *dispatcher) detachReq(req *subReq) {
	for _, name := range req.sub.topics {
		if t := d.topics[name]; t != nil {
			delete(t.pending, req)
			d.release(t)
		}
	}
}

func (d *dispatcher) detachSub(sub *subscription) {
	for _, name := range sub.topics {
		if t := d.topics[name]; t != nil {
			delete(t.subs, sub)
			d.release(t)
		}
	}
}

// release UNSUBSCRIBEs a topic nobody wants any more.
func (d *dispatcher) release(t *topic) {
	if t.refs() > 0 {
		return
	}
	delete(d.topics, t.name)
	delete(d.byChannel, t.channel)
	d.releaseTopic(t)
}
