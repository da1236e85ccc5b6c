package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

var _ Store = (*Redis)(nil)

// Redis keeps each record in "<prefix>:fleet:{fleet}:r:<id>" with a TTL
// (Redis deletes a dead relay's record by itself) and an index sorted set
// "<prefix>:fleet:{fleet}" scored by expiry, so listing never scans the
// keyspace. One hash tag keeps them in one cluster slot.
type Redis struct {
	c      goredis.UniversalClient
	prefix string
	now    func() time.Time
}

// MaxRecords bounds what List reads (a fleet larger than this is shown
// truncated).
const MaxRecords = 500

// NewRedis returns a store on c with key prefix prefix ("hr").
func NewRedis(c goredis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix, now: time.Now}
}

func (s *Redis) index() string           { return s.prefix + ":fleet:{fleet}" }
func (s *Redis) record(id string) string { return s.prefix + ":fleet:{fleet}:r:" + id }
func (s *Redis) nowMs() string           { return strconv.FormatInt(s.now().UnixMilli(), 10) }
func validID(id string) bool             { return id != "" && len(id) <= 200 }

// Put implements Store.
func (s *Redis) Put(ctx context.Context, r Record, ttl time.Duration) error {
	if !validID(r.ID) {
		return fmt.Errorf("fleet: invalid relay id %q", r.ID)
	}
	r.Expires = s.now().Add(ttl)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("fleet: encode record: %w", err)
	}
	pipe := s.c.Pipeline()
	pipe.Set(ctx, s.record(r.ID), b, ttl)
	pipe.ZAdd(ctx, s.index(), goredis.Z{Score: float64(r.Expires.UnixMilli()), Member: r.ID})
	pipe.ZRemRangeByScore(ctx, s.index(), "-inf", "("+s.nowMs())
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("fleet: put record: %w", err)
	}
	return nil
}

// Remove implements Store.
func (s *Redis) Remove(ctx context.Context, id string) error {
	pipe := s.c.Pipeline()
	pipe.Del(ctx, s.record(id))
	pipe.ZRem(ctx, s.index(), id)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("fleet: remove record: %w", err)
	}
	return nil
}

// List implements Store.
func (s *Redis) List(ctx context.Context) ([]Record, error) {
	ids, err := s.c.ZRangeByScore(ctx, s.index(), &goredis.ZRangeBy{Min: "(" + s.nowMs(), Max: "+inf", Count: MaxRecords}).Result()
	if err != nil {
		return nil, fmt.Errorf("fleet: list: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.record(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("fleet: read records: %w", err)
	}
	out := make([]Record, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // expired between the two reads
		}
		var r Record
		if err := json.Unmarshal([]byte(str), &r); err != nil {
			continue // not ours to fail on: one bad record must not hide the fleet
		}
		out = append(out, r)
	}
	return sortRecords(out), nil
}
