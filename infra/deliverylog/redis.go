package deliverylog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

var (
	_ Store    = (*Redis)(nil)
	_ Appender = (*RedisAppender)(nil)
)

// RedisAppender is the write half of the Redis store: what the ingest
// Lambda links. The read half (Redis: Sources, List, Get) is a separate
// type so that a binary which only appends does not keep it: with
// text/template in the binary, the linker keeps every exported method of a
// type that reaches an interface (docs/lambda.md).
//
// Each source has one list "<prefix>:dlog:{<source>}" (newest at the
// head) and a byte counter beside it in the same cluster slot; one Lua
// script appends and trims by count, bytes and age, so a log is never over
// its limits after a write. Both keys expire TTL after the last write. The
// set "<prefix>:dlog:sources" remembers which logs exist (names come from
// the configuration, plus UnknownSourceLog).
type RedisAppender struct {
	c      goredis.UniversalClient
	prefix string
	lim    Limits
	now    func() time.Time
}

// NewRedisAppender returns the write half of a store on client c with key
// prefix prefix ("hr").
func NewRedisAppender(c goredis.UniversalClient, prefix string, lim Limits) *RedisAppender {
	return &RedisAppender{c: c, prefix: prefix, lim: lim.WithDefaults(), now: time.Now}
}

// Redis is the Store shared by every relay and ingest Lambda: a
// RedisAppender plus the reads the operator console makes.
type Redis struct {
	RedisAppender
}

// NewRedis returns a store on client c with key prefix prefix ("hr").
func NewRedis(c goredis.UniversalClient, prefix string, lim Limits) *Redis {
	return &Redis{RedisAppender: *NewRedisAppender(c, prefix, lim)}
}

func (r *RedisAppender) listKey(source string) string  { return r.prefix + ":dlog:{" + source + "}" }
func (r *RedisAppender) bytesKey(source string) string { return r.prefix + ":dlog:{" + source + "}:b" }
func (r *RedisAppender) sourcesKey() string            { return r.prefix + ":dlog:sources" }

// appendScript pushes ARGV[5..] and pops from the tail while the log is
// over its count (ARGV[1]) or bytes (ARGV[2]) or its oldest element is
// older than ARGV[3] (unix ms). ARGV[4] is the TTL in ms.
var appendScript = goredis.NewScript(`
local maxc, maxb, minms, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local b = 0
for i = 5, #ARGV do
  redis.call('LPUSH', KEYS[1], ARGV[i])
  b = redis.call('INCRBY', KEYS[2], #ARGV[i])
end
local n = redis.call('LLEN', KEYS[1])
while n > 0 do
  local tail = redis.call('LINDEX', KEYS[1], -1)
  if n <= maxc and b <= maxb and tonumber(string.sub(tail, 1, 13)) >= minms then break end
  redis.call('RPOP', KEYS[1])
  b = redis.call('DECRBY', KEYS[2], #tail)
  n = n - 1
end
if n == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return n
`)

// Append implements Appender: one script call per source, pipelined.
func (r *RedisAppender) Append(ctx context.Context, entries []Entry) error {
	bySource := make(map[string][]any)
	var order []string
	for i := range entries {
		e := &entries[i]
		b, err := encodeEntry(e)
		if err != nil {
			return err
		}
		if _, ok := bySource[e.Source]; !ok {
			order = append(order, e.Source)
		}
		bySource[e.Source] = append(bySource[e.Source], b)
	}
	if len(order) == 0 {
		return nil
	}
	err := r.appendPipe(ctx, order, bySource)
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		// First write since Redis started (or flushed its scripts): load
		// the script and run again; NOSCRIPT means nothing ran.
		if lerr := appendScript.Load(ctx, r.c).Err(); lerr != nil {
			return fmt.Errorf("delivery log: load script: %w", lerr)
		}
		err = r.appendPipe(ctx, order, bySource)
	}
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("delivery log: append to Redis: %w", err)
	}
	return nil
}

// appendPipe runs the append script of every source in one pipeline.
func (r *RedisAppender) appendPipe(ctx context.Context, order []string, bySource map[string][]any) error {
	now := r.now()
	minMs := strconv.FormatInt(now.Add(-r.lim.TTL).UnixMilli(), 10)
	ttl := strconv.FormatInt(r.lim.TTL.Milliseconds(), 10)
	pipe := r.c.Pipeline()
	for _, s := range order {
		args := append([]any{r.lim.Count, r.lim.Bytes, minMs, ttl}, bySource[s]...)
		appendScript.EvalSha(ctx, pipe, []string{r.listKey(s), r.bytesKey(s)}, args...)
		pipe.ZAdd(ctx, r.sourcesKey(), goredis.Z{Score: float64(now.UnixMilli()), Member: s})
	}
	// The set of sources is bounded by the configuration; drop names not
	// written for a TTL so it does not keep renamed ones forever.
	pipe.ZRemRangeByScore(ctx, r.sourcesKey(), "-inf", "("+minMs)
	_, err := pipe.Exec(ctx)
	return err
}

// Sources returns the names of the logs written within the TTL.
func (r *Redis) Sources(ctx context.Context) ([]string, error) {
	minMs := strconv.FormatInt(r.now().Add(-r.lim.TTL).UnixMilli(), 10)
	names, err := r.c.ZRangeByScore(ctx, r.sourcesKey(), &goredis.ZRangeBy{Min: minMs, Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("delivery log: list sources: %w", err)
	}
	return names, nil
}

// List implements Store. It reads at most Limits.Count entries per source
// (at most Limits.Bytes), so its cost is bounded by the configuration.
func (r *Redis) List(ctx context.Context, q Query) ([]Entry, error) {
	names := q.Sources
	if len(names) == 0 {
		var err error
		if names, err = r.Sources(ctx); err != nil {
			return nil, err
		}
	}
	var out []Entry
	for _, n := range names {
		if !validSource(n) {
			continue
		}
		es, err := r.listSource(ctx, n, q)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return newestFirst(out, q.limit()), nil
}

// listPage is how many entries List reads from Redis at a time.
const listPage = 100

// listSource returns the newest q.limit() matches of one source's log,
// reading it newest first a page at a time: an unfiltered view of the
// newest deliveries (what the console polls) reads one page.
func (r *Redis) listSource(ctx context.Context, name string, q Query) ([]Entry, error) {
	minMs := r.now().Add(-r.lim.TTL).UnixMilli()
	var out []Entry
	for start := int64(0); start < int64(r.lim.Count); start += listPage {
		elems, err := r.c.LRange(ctx, r.listKey(name), start, min(start+listPage, int64(r.lim.Count))-1).Result()
		if err != nil {
			return nil, fmt.Errorf("delivery log: read %s: %w", name, err)
		}
		for _, s := range elems {
			if elementTime([]byte(s)) < minMs {
				return out, nil
			}
			e, err := decodeElement([]byte(s))
			if err != nil {
				return nil, fmt.Errorf("delivery log: read %s: %w", name, err)
			}
			if q.Match(&e) {
				out = append(out, e)
			}
			if len(out) >= q.limit() {
				return out, nil
			}
		}
		if len(elems) < listPage {
			break
		}
	}
	return out, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, source, id string) (Entry, error) {
	if !validSource(source) {
		return Entry{}, ErrNotFound
	}
	all, err := r.List(ctx, Query{Sources: []string{source}, Limit: MaxQueryLimit})
	if err != nil {
		return Entry{}, err
	}
	return find(all, id, func() ([]Entry, error) {
		elems, err := r.c.LRange(ctx, r.listKey(source), 0, int64(r.lim.Count)-1).Result()
		if err != nil {
			return nil, fmt.Errorf("delivery log: read %s: %w", source, err)
		}
		out := make([]Entry, 0, len(elems))
		for _, s := range elems {
			if e, err := decodeElement([]byte(s)); err == nil {
				out = append(out, e)
			}
		}
		return out, nil
	})
}
