package redis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

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
	if got, want := calls(mixed, all(5), false), [][]int{{0, 1, 2, 3, 4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("single Redis: %v, want one call %v", got, want)
	}
	if got, want := calls(mixed, all(5), true), [][]int{{0, 2}, {1, 4}, {3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("cluster: %v, want a call per topic in publish order %v", got, want)
	}
	if got, want := calls(mixed, []int{4, 1, 3}, false), [][]int{{4, 1, 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("a retry's indexes: %v, want %v", got, want)
	}

	many := make([]*prepared, maxCallMessages+1)
	for i := range many {
		many[i] = prep("a", 1)
	}
	got := calls(many, all(len(many)), true)
	if len(got) != 2 || len(got[0]) != maxCallMessages || !reflect.DeepEqual(got[1], []int{maxCallMessages}) {
		t.Errorf("%d messages: calls of %d and %d, want %d and 1", len(many), len(got[0]), len(got[len(got)-1]), maxCallMessages)
	}
	big := []*prepared{prep("a", 100), prep("a", maxCallBytes), prep("a", 100), prep("a", maxCallBytes-150), prep("a", 100)}
	if got, want := calls(big, all(5), false), [][]int{{0}, {1}, {2, 3}, {4}}; !reflect.DeepEqual(got, want) {
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
