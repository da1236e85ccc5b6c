package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// prepared is one validated, encoded message ready for the publish script.
type prepared struct {
	msg  bus.Message
	time time.Time // the event's time: msg.Time, or the publish time
	body []byte
	keys []string // the message's four keys of publishLua
	args []any    // the message's four arguments of publishLua
}

// Publish runs the publish script for msgs. Concurrent Publish calls share
// round trips (see batcher) and script calls (see calls.go): each call's
// messages go out in order in one pipeline, and its replies are read in
// order; the first failure ends the call, returning the events published
// before it. Redis publishes the remaining messages regardless, so when a
// message in the middle fails (script error, lost connection) later ones
// may have been published too: a caller retrying the rest should use
// idempotency keys, as webhooks do.
func (b *Publisher) Publish(ctx context.Context, msgs []bus.Message) ([]bus.Published, error) {
	if b.isClosed() {
		return nil, fmt.Errorf("redis bus: publish: %w", bus.ErrClosed)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	now := time.Now()
	preps := make([]prepared, len(msgs))
	for i, m := range msgs {
		p, err := b.prepare(m, now)
		if err != nil {
			return nil, fmt.Errorf("publish message %d: %w", i, err)
		}
		preps[i] = p
	}
	if b.opt.WaitReplicas > 0 {
		return b.publishDurable(ctx, preps)
	}
	res, errs, err := b.batch.publish(ctx, preps)
	if err != nil {
		return nil, b.unavailable("publish "+preps[0].msg.Topic, err)
	}
	out := make([]bus.Published, 0, len(preps))
	for i, p := range preps {
		if errs[i] != nil {
			return out, b.unavailable("publish "+p.msg.Topic, errs[i])
		}
		pub, err := b.published(p, res[i])
		if err != nil {
			return out, err
		}
		out = append(out, pub)
	}
	return out, nil
}

func (b *Publisher) prepare(m bus.Message, now time.Time) (prepared, error) {
	if err := validTopic(m.Topic); err != nil {
		return prepared{}, err
	}
	body, err := bus.EncodeBody(m, now, b.opt.Bus.MaxEventBytes)
	if err != nil {
		return prepared{}, err
	}
	dedupTTL := int64(0)
	dedupKey := b.keys.dedup(m.Topic, "")
	if m.IdempotencyKey != "" {
		dedupTTL = b.opt.Bus.DedupTTL.Milliseconds()
		if m.DedupTTL > 0 {
			dedupTTL = max(m.DedupTTL.Milliseconds(), 1)
		}
		dedupKey = b.keys.dedup(m.Topic, m.IdempotencyKey)
	}
	t := m.Time
	if t.IsZero() {
		t = now
	}
	return prepared{
		msg:  m,
		time: t,
		body: body,
		keys: []string{b.keys.stream(m.Topic), dedupKey, b.keys.last(m.Topic), b.keys.writer(m.Topic)},
		args: []any{
			body,
			dedupTTL,
			b.keys.channel(m.Topic),
			now.UnixMilli(), // floor for the id across a failover (scripts.go)
		},
	}, nil
}

// runPipeline runs the publish script for the messages at idx in one
// pipeline, as few script calls of at most perCall messages as the
// messages allow (see calls), and stores each message's reply or error at
// its index.
func (b *Publisher) runPipeline(ctx context.Context, preps []*prepared, idx []int, perCall int, res []any, errs []error) {
	groups := calls(preps, idx, b.opt.Cluster, perCall)
	pipe := b.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(groups))
	for g, grp := range groups {
		keys, args := b.callArgs(preps, grp)
		cmds[g] = b.scripts.publish.EvalSha(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error, read below
	b.metrics.pipelines.Add(1)
	b.metrics.scriptCalls.Add(uint64(len(groups)))
	for g, grp := range groups {
		replies, err := cmds[g].Slice()
		for j, i := range grp {
			res[i], errs[i] = reply(replies, err, len(grp), j)
		}
	}
}

// reply returns message j's reply from a script call for n messages: the
// call's error if it failed as a whole (NOSCRIPT, a lost connection, a
// replica), else the message's own reply or error ({"", -1, error}, see
// publishLua).
func reply(replies []any, err error, n, j int) (any, error) {
	if err != nil {
		return nil, err
	}
	if len(replies) != n {
		return nil, fmt.Errorf("publish script replied %d results for %d messages", len(replies), n)
	}
	if e, ok := replies[j].(error); ok {
		return nil, e
	}
	if r, ok := replies[j].([]any); ok && len(r) == 3 && toInt(r[1]) == -1 {
		msg, _ := r[2].(string)
		return nil, messageError(msg)
	}
	return replies[j], nil
}

// messageError is a Redis error one message of a shared script call met.
type messageError string

func (e messageError) Error() string { return string(e) }

// callArgs returns the keys and arguments of one publish script call for
// the messages at idx (publishLua).
func (b *Publisher) callArgs(preps []*prepared, idx []int) ([]string, []any) {
	keys := make([]string, 0, 4*len(idx))
	args := make([]any, 0, 2+4*len(idx))
	args = append(args, b.opt.Bus.HistoryLen, b.opt.Bus.HistoryTTL.Milliseconds())
	for _, i := range idx {
		keys = append(keys, preps[i].keys...)
		args = append(args, preps[i].args...)
	}
	return keys, args
}

// notRunRetry returns the indexes to run again after whole calls were
// refused with code before they ran (NOSCRIPT: the script was not cached;
// NOPERM: the ACL refused a key the call declares): every failure must be
// such a refusal, and no message of a topic may have run after one of that
// topic that did not (running it now would reorder the topic).
func notRunRetry(preps []*prepared, errs []error, code string) []int {
	var idx []int
	missed := make(map[string]bool)
	for i, err := range errs {
		topic := preps[i].msg.Topic
		switch {
		case err == nil:
			if missed[topic] {
				return nil
			}
		case goredis.HasErrorPrefix(err, code):
			missed[topic] = true
			idx = append(idx, i)
		default:
			return nil
		}
	}
	return idx
}

// published turns the script's reply into the outcome for one message. A
// new event is built from the message's own fields (nothing is decoded);
// only a duplicate whose original is still in the history decodes it.
func (b *Publisher) published(p prepared, res any) (bus.Published, error) {
	reply, ok := res.([]any)
	if !ok || len(reply) != 3 {
		return bus.Published{}, b.unavailable("publish "+p.msg.Topic, fmt.Errorf("unexpected script reply %T", res))
	}
	idStr, _ := reply[0].(string)
	id, err := event.ParseID(idStr)
	if err != nil {
		return bus.Published{}, b.unavailable("publish "+p.msg.Topic, fmt.Errorf("script reply: %w", err))
	}
	dup := toInt(reply[1]) == 1
	orig, _ := reply[2].(string)
	if dup && orig != "" {
		e, err := decodeStored(orig, id)
		if err != nil {
			return bus.Published{}, b.unavailable("publish "+p.msg.Topic, fmt.Errorf("decode original event: %w", err))
		}
		b.metrics.duplicates.Add(1)
		return bus.Published{Event: e, Duplicate: true}, nil
	}
	// A new event, or a duplicate whose original left the history: the
	// fields come from this message, the id from the script.
	e := event.Event{
		ID: id.String(), Topic: p.msg.Topic, Type: p.msg.Type, Time: p.time.UTC(),
		Source: p.msg.Source, Data: bus.DataOf(p.body),
	}
	if dup {
		b.metrics.duplicates.Add(1)
	} else {
		b.metrics.published.Add(1)
	}
	return bus.Published{Event: e, Duplicate: dup}, nil
}

// decodeStored decodes an event as the stream holds it: complete, or a body
// without id (the id is the one the script returned).
func decodeStored(js string, id event.ID) (event.Event, error) {
	var e event.Event
	if !strings.HasPrefix(js, idPrefix) {
		full, err := attachID(js, id)
		if err != nil {
			return e, err
		}
		js = string(full)
	}
	err := json.Unmarshal([]byte(js), &e)
	e.ID = id.String()
	return e, err
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case string:
		i, _ := strconv.ParseInt(n, 10, 64) // a non-number is "not 1", which is what callers test
		return i
	}
	return 0
}
