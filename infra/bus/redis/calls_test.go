package redis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

func TestCallsSplit(t *testing.T) {
	prep := func(topic string, size int) *prepared {
		return &prepared{msg: bus.Message{Topic: topic}, body: make([]byte, size)}
	}
	all := func(n int) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	mixed := []*prepared{prep("a", 10), prep("b", 10), prep("a", 10), prep("c", 10), prep("b", 10)}
	if got, want := calls(mixed, all(5), false, maxCallMessages), [][]int{{0, 1, 2, 3, 4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("single Redis: %v, want one call %v", got, want)
	}
	if got, want := calls(mixed, all(5), true, maxCallMessages), [][]int{{0, 2}, {1, 4}, {3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("cluster: %v, want a call per topic in publish order %v", got, want)
	}
	if got, want := calls(mixed, []int{4, 1, 3}, false, maxCallMessages), [][]int{{4, 1, 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("a retry's indexes: %v, want %v", got, want)
	}

	if got, want := calls(mixed, all(5), false, 1), [][]int{{0}, {1}, {2}, {3}, {4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("one per call: %v, want %v", got, want)
	}

	many := make([]*prepared, maxCallMessages+1)
	for i := range many {
		many[i] = prep("a", 1)
	}
	got := calls(many, all(len(many)), true, maxCallMessages)
	if len(got) != 2 || len(got[0]) != maxCallMessages || !reflect.DeepEqual(got[1], []int{maxCallMessages}) {
		t.Errorf("%d messages: calls of %d and %d, want %d and 1", len(many), len(got[0]), len(got[len(got)-1]), maxCallMessages)
	}
	big := []*prepared{prep("a", 100), prep("a", maxCallBytes), prep("a", 100), prep("a", maxCallBytes-150), prep("a", 100)}
	if got, want := calls(big, all(5), false, maxCallMessages), [][]int{{0}, {1}, {2, 3}, {4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("byte bound: %v, want %v", got, want)
	}
}

// TestOneCallManyMessages: the messages of a pipeline share one script call
// on a single Redis, and a message that fails inside it fails alone: the
// messages after it, in the same call, are published.
func TestOneCallManyMessages(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.Set(ctx, b.keys.stream("broken"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, "warm", 0, 1) // the script is cached: no NOSCRIPT retry below
	before := b.Stats()
	dup := msg("t:1", 2)
	dup.IdempotencyKey = "k"
	first := dup
	first.Data = []byte(`{"n":1}`)
	out, err := b.Publish(ctx, []bus.Message{msg("t:0", 0), first, dup, msg("broken", 3), msg("t:0", 4)})
	if !errors.Is(err, bus.ErrUnavailable) || !strings.Contains(fmt.Sprint(err), "WRONGTYPE") {
		t.Fatalf("err = %v, want ErrUnavailable naming WRONGTYPE", err)
	}
	if len(out) != 3 || out[2].Event.ID != out[1].Event.ID || !out[2].Duplicate || string(out[2].Event.Data) != `{"n":1}` {
		t.Fatalf("published before the failure: %+v; want t:0, t:1 and its duplicate answered with the original", out)
	}
	after := b.Stats()
	if calls, pipes := after.PublishCalls-before.PublishCalls, after.PublishPipelines-before.PublishPipelines; calls != 1 || pipes != 1 {
		t.Fatalf("%d script calls in %d pipelines, want 1 and 1", calls, pipes)
	}
	page, err := b.History(ctx, "t:0", "", 10)
	if err != nil || len(page.Events) != 2 || !strings.Contains(string(page.Events[1].JSON), `{"n":4}`) {
		t.Fatalf("history of t:0: %d events, %v; want the message after the failed one too", len(page.Events), err)
	}
	if page.Events[0].ID.String() != out[0].Event.ID {
		t.Fatalf("history of t:0 starts at %s, publish answered %s", page.Events[0].ID, out[0].Event.ID)
	}
	// t:0's second message took its predecessor from the first inside the
	// call, and the call wrote the topic's keys once, after both.
	last := page.Events[1].ID.String()
	entries, err := admin.XRange(ctx, b.keys.stream("t:0"), last, last).Result()
	if err != nil || len(entries) != 1 || entries[0].Values["p"] != out[0].Event.ID || entries[0].Values["n"] != "2" {
		t.Fatalf("second entry of t:0: %+v, %v; want p=%s n=2", entries, err, out[0].Event.ID)
	}
	if l, err := admin.Get(ctx, b.keys.last("t:0")).Result(); err != nil || l != last+" 2" {
		t.Fatalf("last-id key of t:0 = %q, %v; want %q", l, err, last+" 2")
	}
	for _, key := range []string{b.keys.stream("t:0"), b.keys.last("t:0"), b.keys.writer("t:0")} {
		if ttl, err := admin.PTTL(ctx, key).Result(); err != nil || ttl <= 0 {
			t.Fatalf("PTTL %s = %v, %v; want the history TTL", key, ttl, err)
		}
	}
}

// TestClusterCallPerTopic: on a cluster a call carries one topic's messages
// (a script may touch one slot), so one Publish of several topics makes a
// call per topic, each on its own primary, in order.
func TestClusterCallPerTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	addrs := startCluster(t, 3)
	b := newClusterBus(t, addrs, "calls", nil)
	ctx := context.Background()
	topics := topicPerPrimary(t, b, 3)
	var msgs []bus.Message
	for round := range 3 {
		for _, topic := range topics {
			msgs = append(msgs, msg(topic, round))
		}
	}
	publishN(t, b, "warm", 0, 1)
	before := b.Stats()
	out, err := b.Publish(ctx, msgs)
	if err != nil || len(out) != len(msgs) {
		t.Fatalf("publish %d messages over 3 primaries: %d out, %v", len(msgs), len(out), err)
	}
	if calls := b.Stats().PublishCalls - before.PublishCalls; calls != 3 {
		t.Fatalf("%d script calls, want one per topic (3)", calls)
	}
	for _, topic := range topics {
		page, err := b.History(ctx, topic, "", 10)
		if err != nil || len(page.Events) != 3 {
			t.Fatalf("history of %s: %d events, %v", topic, len(page.Events), err)
		}
		for i, e := range page.Events {
			if !strings.Contains(string(e.JSON), fmt.Sprintf(`{"n":%d}`, i)) {
				t.Fatalf("%s event %d: %s, want n=%d (publish order)", topic, i, e.JSON, i)
			}
		}
	}
}

// TestCallChainsInsideTheCall: a topic's later messages in one call name
// the earlier one as predecessor from the script's own state (its last-id
// key still holds the id from before the call until the call ends), also
// across a message of that topic that failed in between.
func TestCallChainsInsideTheCall(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	before := publishN(t, b, "chain", 0, 1)[0]
	bad := msg("chain", 2)
	bad.IdempotencyKey = "bad"
	// A hash where the dedup key belongs: its GET fails WRONGTYPE.
	if err := admin.HSet(ctx, b.keys.dedup("chain", "bad"), "x", "y").Err(); err != nil {
		t.Fatal(err)
	}
	out, err := b.Publish(ctx, []bus.Message{msg("chain", 1), bad, msg("chain", 3)})
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || len(out) != 1 {
		t.Fatalf("publish: %d out, err %v; want the first, then WRONGTYPE", len(out), err)
	}
	entries, err := admin.XRange(ctx, b.keys.stream("chain"), "-", "+").Result()
	if err != nil || len(entries) != 3 {
		t.Fatalf("stream: %d entries, %v; want 3 (the failed message is not one)", len(entries), err)
	}
	for i, want := range []string{"0-0", before, entries[1].ID} {
		if p := entries[i].Values["p"]; p != want {
			t.Errorf("entry %d (%s) names predecessor %v, want %s", i, entries[i].ID, p, want)
		}
	}
	if entries[1].ID != out[0].Event.ID || entries[2].Values["n"] != "3" {
		t.Errorf("entries %v; want the call's first at %s and the last numbered 3", entries, out[0].Event.ID)
	}
}

// TestCallFloorAfterFailover: after a failover (the topic's writer id is
// another primary's) the first entry names 0-0, and the publisher's clock
// floor is still compared with the stream's real last id: a floor below it
// must not be used as the id (XADD would refuse it), so publishing goes on.
func TestCallFloorAfterFailover(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	now, err := admin.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The old primary's clock was 2 minutes ahead: the stream's last entry
	// is in Redis's future, and this publisher's clock 1 minute ahead.
	top := fmt.Sprintf("%d-0", now.Add(2*time.Minute).UnixMilli())
	floor := now.Add(time.Minute).UnixMilli()
	const topic = "floor"
	if err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: b.keys.stream(topic), ID: top, Values: []any{"p", "0-0", "b", `{"topic":"floor"}`, "n", 1}}).Err(); err != nil {
		t.Fatal(err)
	}
	admin.Set(ctx, b.keys.last(topic), top+" 1", 0)
	admin.Set(ctx, b.keys.writer(topic), "0123456789abcdef0123456789abcdef01234567", 0)
	var keys []string
	args := []any{100, 60000}
	for i := range 2 {
		keys = append(keys, b.keys.stream(topic), b.keys.dedup(topic, ""), b.keys.last(topic), b.keys.writer(topic))
		args = append(args, fmt.Sprintf(`{"topic":"floor","n":%d}`, i), 0, b.keys.channel(topic), floor)
	}
	replies, err := b.scripts.publish.Run(ctx, b.client, keys, args...).Slice()
	if err != nil || len(replies) != 2 {
		t.Fatalf("script: %v, %v", replies, err)
	}
	var ids []string
	for i := range replies {
		r, err := reply(replies, nil, 2, i)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		ids = append(ids, r.([]any)[0].(string))
	}
	entries, err := admin.XRange(ctx, b.keys.stream(topic), "("+top, "+").Result()
	if err != nil || len(entries) != 2 || entries[0].ID != ids[0] || entries[1].ID != ids[1] {
		t.Fatalf("entries after %s: %+v, %v; want %v", top, entries, err, ids)
	}
	if p0, p1 := entries[0].Values["p"], entries[1].Values["p"]; p0 != "0-0" || p1 != ids[0] {
		t.Fatalf("predecessors %v, %v; want 0-0 (a possible gap) then %s", p0, p1, ids[0])
	}
}

// TestReadOnlyFailsTheCall: on a replica the first write of a call is
// refused, and the call fails as a whole (a top-level READONLY, which is
// what go-redis reads to drop the connection), not message by message.
// Redis refuses EVALSHA of a script it has cached before running it; a
// script it runs from its body (EVAL, not cached there) meets the refusal
// at its first write, inside the script.
func TestReadOnlyFailsTheCall(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.StartWith(t, nil, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
	b := newTestBus(t, primary, nil)
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: replica.Addr()})
	defer rc.Close()
	keys, args := b.callArgs([]*prepared{{
		keys: []string{b.keys.stream("ro"), b.keys.dedup("ro", ""), b.keys.last("ro"), b.keys.writer("ro")},
		args: []any{`{"topic":"ro"}`, 0, b.keys.channel("ro"), time.Now().UnixMilli()},
	}}, []int{0})
	if err := rc.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"EVAL", "EVALSHA"} {
		var err error
		if run == "EVAL" {
			err = rc.Eval(ctx, publishLua, keys, args...).Err()
		} else {
			err = b.scripts.publish.Run(ctx, rc, keys, args...).Err()
		}
		if err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
			t.Fatalf("%s on a replica: err = %v, want a top-level READONLY", run, err)
		}
	}
}

// aclBus is a bus of prefix on a fresh Redis, as an ACL user with rules, on
// a pool of one connection (so every call reads its reply where the last
// one stopped), after one publish on topic ok:0.
func aclBus(t *testing.T, prefix string, rules ...string) *Bus {
	t.Helper()
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	args := append([]any{"ACL", "SETUSER", "some", "on", ">s3cret"}, toAny(rules)...)
	if err := admin.Do(context.Background(), append(args, "+@all")...).Err(); err != nil {
		t.Fatal(err)
	}
	b := newTestBus(t, srv, func(o *Options) { o.Username, o.Password, o.PoolSize, o.Prefix = "some", "s3cret", 1, prefix })
	publishN(t, b, "ok:0", 0, 1)
	return b
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// wantRefusedAlone checks that of a call for ok:1, no:1, ok:2 only no:1
// failed, with the ACL's refusal, and that the connection is still in step:
// the next publish gets its own reply, not the rest of the last one.
func wantRefusedAlone(t *testing.T, b *Bus, out []bus.Published, err error) {
	t.Helper()
	if e := fmt.Sprint(err); (!strings.Contains(e, "NOPERM") && !strings.Contains(e, "publish to the channel")) || len(out) != 1 || out[0].Event.Topic != "ok:1" {
		t.Fatalf("publish: %d out, err %v; want ok:1's event, then the ACL's refusal for no:1", len(out), err)
	}
	ctx := context.Background()
	if page, err := b.History(ctx, "ok:2", "", 10); err != nil || len(page.Events) != 1 {
		t.Fatalf("history of ok:2: %d events, %v; the message after the refused one must publish", len(page.Events), err)
	}
	next, err := b.Publish(ctx, []bus.Message{msg("ok:3", 5)})
	if err != nil || len(next) != 1 || next[0].Event.Topic != "ok:3" || string(next[0].Event.Data) != `{"n":5}` {
		t.Fatalf("the publish after: %+v, %v; want ok:3's own event", next, err)
	}
}

// TestCallMessageNoPermission: Redis checks the keys a call declares
// against the ACL before running it, so a call holding one topic outside
// the user's keys is refused whole; its messages run again one per call and
// only that one fails.
func TestCallMessageNoPermission(t *testing.T) {
	b := aclBus(t, "acl", "~acl:{ok*", "&*") // keys of topics "ok…" only
	out, err := b.Publish(context.Background(), []bus.Message{msg("ok:1", 1), msg("no:1", 2), msg("ok:2", 3)})
	wantRefusedAlone(t, b, out, err)
}

// TestCallMessageNoChannelPermission: a message whose notify the ACL
// refuses (inside the script, after its append) fails alone in its call,
// and the reply stays readable (go-redis stops reading an array at a nested
// error it has a type for, such as NOPERM, so the script returns message
// failures as values; Redis 7.0 words this one as ERR).
func TestCallMessageNoChannelPermission(t *testing.T) {
	b := aclBus(t, "ch", "~*", "&ch:{ok*")
	out, err := b.Publish(context.Background(), []bus.Message{msg("ok:1", 1), msg("no:1", 2), msg("ok:2", 3)})
	wantRefusedAlone(t, b, out, err)
}
