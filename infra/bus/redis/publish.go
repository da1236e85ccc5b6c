package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// prepared is one validated, encoded message ready for the publish script.
type prepared struct {
	msg  bus.Message
	body []byte
	keys []string
	args []any
}

// Publish runs the publish script once per message. A batch is pipelined
// (one round trip); its replies are read in order and the first failure ends
// the batch, returning the events published before it. Redis runs the
// remaining pipelined scripts regardless, so when a message in the middle
// fails (script error, lost connection) later ones may have been published
// too: a caller retrying the rest should use idempotency keys, as webhooks do.
func (b *Bus) Publish(ctx context.Context, msgs []bus.Message) ([]bus.Published, error) {
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
	if len(preps) == 1 {
		res, err := b.scripts.publish.Run(ctx, b.client, preps[0].keys, preps[0].args...).Result()
		if err != nil {
			return nil, b.unavailable("publish "+preps[0].msg.Topic, err)
		}
		p, err := b.published(preps[0], res)
		if err != nil {
			return nil, err
		}
		return []bus.Published{p}, nil
	}
	return b.publishBatch(ctx, preps)
}

func (b *Bus) prepare(m bus.Message, now time.Time) (prepared, error) {
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
		dedupKey = b.keys.dedup(m.Topic, m.IdempotencyKey)
	}
	return prepared{
		msg:  m,
		body: body,
		keys: []string{b.keys.stream(m.Topic), dedupKey},
		args: []any{
			body,
			b.opt.Bus.HistoryLen,
			b.opt.Bus.HistoryTTL.Milliseconds(),
			dedupTTL,
			b.keys.channel(m.Topic),
		},
	}, nil
}

// publishBatch pipelines EVALSHA for every message. Messages that found
// the script cache empty (first use, Redis restarted, SCRIPT FLUSH, a new
// cluster node) did not run, so they are retried once after loading the
// script, provided no later message of the same topic ran (that would
// reorder the topic).
func (b *Bus) publishBatch(ctx context.Context, preps []prepared) ([]bus.Published, error) {
	res := make([]any, len(preps))
	errs := make([]error, len(preps))
	all := make([]int, len(preps))
	for i := range all {
		all[i] = i
	}
	b.runPipeline(ctx, preps, all, res, errs)
	if retry := noScriptRetry(preps, errs); len(retry) > 0 {
		if err := b.scripts.publish.Load(ctx, b.client).Err(); err != nil {
			return nil, b.unavailable("load publish script", err)
		}
		b.runPipeline(ctx, preps, retry, res, errs)
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

// runPipeline runs the publish script for preps[idx] in one pipeline and
// stores each reply or error at its index.
func (b *Bus) runPipeline(ctx context.Context, preps []prepared, idx []int, res []any, errs []error) {
	pipe := b.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(idx))
	for j, i := range idx {
		cmds[j] = b.scripts.publish.EvalSha(ctx, pipe, preps[i].keys, preps[i].args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error, read below
	for j, i := range idx {
		res[i], errs[i] = cmds[j].Result()
	}
}

// noScriptRetry returns the indexes to retry after loading the script: all
// failures must be NOSCRIPT (nothing ran), and no message of a topic may
// have run after one of that topic that did not.
func noScriptRetry(preps []prepared, errs []error) []int {
	var idx []int
	missed := make(map[string]bool)
	for i, err := range errs {
		topic := preps[i].msg.Topic
		switch {
		case err == nil:
			if missed[topic] {
				return nil
			}
		case goredis.HasErrorPrefix(err, "NOSCRIPT"):
			missed[topic] = true
			idx = append(idx, i)
		default:
			return nil
		}
	}
	return idx
}

// published turns the script's reply into the outcome for one message.
func (b *Bus) published(p prepared, res any) (bus.Published, error) {
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
	var e event.Event
	switch {
	case dup && orig != "":
		err = json.Unmarshal([]byte(orig), &e)
	default:
		// A new event, or a duplicate whose original left the history:
		// the fields come from this message, the id from the original.
		err = json.Unmarshal(p.body, &e)
	}
	if err != nil {
		return bus.Published{}, b.unavailable("publish "+p.msg.Topic, fmt.Errorf("decode event: %w", err))
	}
	e.ID = id.String()
	if dup {
		b.metrics.duplicates.Add(1)
	} else {
		b.metrics.published.Add(1)
	}
	return bus.Published{Event: e, Duplicate: dup}, nil
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
