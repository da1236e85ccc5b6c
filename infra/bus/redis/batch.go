package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// The batcher lets concurrent Publish calls share round trips to Redis.
//
// At most Options.PublishPipelines pipelines are in flight. A call that
// finds a free slot sends its own messages at once (a lone publisher waits
// for nothing but its own round trip); a call that finds every slot busy
// queues. When a pipeline's replies are in, whoever sent it takes the whole
// queue (up to maxPipelineMessages) and hands it, as the next pipeline, to
// the first queued call, which sends it from its own goroutine. So the wait
// is bounded by the round trips already in flight, there is no timer, and
// no goroutine of its own.
//
// Each call's messages stay together and in order in one pipeline, so per
// topic order holds within a call as before. Every call gets its own
// replies and errors; none returns before Redis answered its messages.

// maxPipelineMessages bounds the messages taken from the queue for one
// pipeline (a single call larger than this goes alone).
const maxPipelineMessages = 1024

// pubCall is one Publish call's share of a pipeline.
type pubCall struct {
	ctx   context.Context
	preps []prepared
	res   []any
	errs  []error
	// wake receives nil when res and errs are filled, or the batch this
	// call must send (it is the batch's first call).
	wake chan []*pubCall
}

type batcher struct {
	b   *Publisher
	max int

	mu      sync.Mutex
	running int // pipelines in flight, at most max
	queue   []*pubCall
}

func newBatcher(b *Publisher, pipelines int) *batcher {
	return &batcher{b: b, max: pipelines}
}

// publish runs the publish script for preps and returns each message's
// reply or error. The error is set only when nothing was sent: ctx ended
// while the call was still queued.
func (bt *batcher) publish(ctx context.Context, preps []prepared) ([]any, []error, error) {
	c := &pubCall{ctx: ctx, preps: preps, res: make([]any, len(preps)), errs: make([]error, len(preps))}
	bt.mu.Lock()
	if bt.running < bt.max {
		bt.running++
		bt.mu.Unlock()
		bt.send([]*pubCall{c})
		return c.res, c.errs, nil
	}
	c.wake = make(chan []*pubCall, 1)
	bt.queue = append(bt.queue, c)
	bt.mu.Unlock()
	select {
	case batch := <-c.wake:
		if batch != nil {
			bt.send(batch)
		}
		return c.res, c.errs, nil
	case <-ctx.Done():
	}
	bt.mu.Lock()
	if i := slices.Index(bt.queue, c); i >= 0 {
		bt.queue = slices.Delete(bt.queue, i, i+1)
		bt.mu.Unlock()
		return nil, nil, fmt.Errorf("waiting for a pipeline: %w", ctx.Err())
	}
	bt.mu.Unlock()
	// Already taken into a pipeline: it may be running now, so its outcome
	// is the answer (the pipeline has its own deadline).
	if batch := <-c.wake; batch != nil {
		bt.send(batch)
	}
	return c.res, c.errs, nil
}

// send runs batch (batch[0] is the caller's own call) as one pipeline, hands
// the queue on as the next pipeline, then wakes the batch's other calls.
func (bt *batcher) send(batch []*pubCall) {
	bt.exec(batch)
	bt.mu.Lock()
	next := bt.takeLocked()
	if next == nil {
		bt.running--
	}
	bt.mu.Unlock()
	if next != nil {
		next[0].wake <- next
	}
	for _, c := range batch[1:] {
		c.wake <- nil
	}
}

// takeLocked removes the next pipeline's calls from the queue.
func (bt *batcher) takeLocked() []*pubCall {
	if len(bt.queue) == 0 {
		return nil
	}
	n, msgs := 0, 0
	for n < len(bt.queue) && (n == 0 || msgs+len(bt.queue[n].preps) <= maxPipelineMessages) {
		msgs += len(bt.queue[n].preps)
		n++
	}
	next := slices.Clone(bt.queue[:n])
	bt.queue = slices.Delete(bt.queue, 0, n)
	return next
}

// exec sends every message of batch in one pipeline. Messages that found
// the script cache empty (first use, Redis restarted, SCRIPT FLUSH, a new
// cluster node) did not run, so they are retried once after loading the
// script, provided no later message of the same topic ran (that would
// reorder the topic); so are the messages of calls the ACL refused, one
// per call. A pipeline shared by several calls does not run under
// any one caller's context: one caller giving up must not fail the others;
// the client's read and write timeouts bound it.
func (bt *batcher) exec(batch []*pubCall) {
	ctx := context.Background()
	if len(batch) == 1 {
		ctx = batch[0].ctx
	}
	var preps []*prepared
	for _, c := range batch {
		for i := range c.preps {
			preps = append(preps, &c.preps[i])
		}
	}
	res := make([]any, len(preps))
	errs := make([]error, len(preps))
	all := make([]int, len(preps))
	for i := range all {
		all[i] = i
	}
	bt.b.runPipeline(ctx, preps, all, maxCallMessages, res, errs)
	if retry := notRunRetry(preps, errs, "NOSCRIPT"); len(retry) > 0 {
		if err := bt.b.scripts.publish.Load(ctx, bt.b.client).Err(); err != nil {
			for _, i := range retry {
				errs[i] = fmt.Errorf("load publish script: %w", err)
			}
		} else {
			bt.b.runPipeline(ctx, preps, retry, maxCallMessages, res, errs)
		}
	}
	if retry := notRunRetry(preps, errs, "NOPERM"); len(retry) > 0 {
		// Redis checks every key a call declares before running it, so a
		// message outside the ACL user's keys fails the whole call it
		// shares: run those messages one per call, so it fails alone.
		bt.b.runPipeline(ctx, preps, retry, 1, res, errs)
	}
	k := 0
	for _, c := range batch {
		copy(c.res, res[k:])
		copy(c.errs, errs[k:])
		k += len(c.preps)
	}
}
