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

// publishBatch pipelines EVALSHA for every message. If the script cache was
// empty (first use, Redis restarted or SCRIPT FLUSH) every reply from the
// first NOSCRIPT on is an error and nothing after it ran, so the rest is
// retried once after loading the script.
func (b *Bus) publishBatch(ctx context.Context, preps []prepared) ([]bus.Published, error) {
	out := make([]bus.Published, 0, len(preps))
	for attempt := 0; ; attempt++ {
		rest := preps[len(out):]
		pipe := b.client.Pipeline()
		cmds := make([]*goredis.Cmd, len(rest))
		for i, p := range rest {
			cmds[i] = b.scripts.publish.EvalSha(ctx, pipe, p.keys, p.args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error, read below
		for i, cmd := range cmds {
			res, err := cmd.Result()
			if err != nil {
				if attempt == 0 && goredis.HasErrorPrefix(err, "NOSCRIPT") && noneRanAfter(cmds[i:]) {
					if lerr := b.scripts.publish.Load(ctx, b.client).Err(); lerr != nil {
						return out, b.unavailable("load publish script", lerr)
					}
					break
				}
				return out, b.unavailable("publish "+rest[i].msg.Topic, err)
			}
			p, err := b.published(rest[i], res)
			if err != nil {
				return out, err
			}
			out = append(out, p)
		}
		if len(out) == len(preps) {
			return out, nil
		}
		if attempt > 0 {
			return out, b.unavailable("publish", fmt.Errorf("script still missing after load"))
		}
	}
}

// noneRanAfter reports whether every command failed, i.e. no later script
// in the pipeline ran: only then is retrying them safe.
func noneRanAfter(cmds []*goredis.Cmd) bool {
	for _, c := range cmds {
		if c.Err() == nil {
			return false
		}
	}
	return true
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
