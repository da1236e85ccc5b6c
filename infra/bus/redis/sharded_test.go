package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// newClusterBus connects a Bus to the cluster at addrs.
func newClusterBus(t *testing.T, addrs []string, prefix string, mod func(*Options)) *Bus {
	t.Helper()
	url := "redis://" + addrs[0]
	if len(addrs) > 1 {
		url += "?addr=" + strings.Join(addrs[1:], "&addr=")
	}
	o := testOptions(t, url)
	o.Cluster = true
	o.Prefix = prefix
	// A cluster gets longer to connect than a single server.
	return dialTestBus(t, o, mod, 10*time.Second)
}

// topicPerPrimary finds one topic whose slot each primary owns, returned
// by primary address.
func topicPerPrimary(t *testing.T, b *Bus, primaries int) map[string]string {
	t.Helper()
	cc := b.client.(*goredis.ClusterClient)
	out := make(map[string]string)
	for i := 0; len(out) < primaries; i++ {
		if i > 10000 {
			t.Fatalf("found topics on %d primaries, want %d", len(out), primaries)
		}
		topic := "shard:" + strconv.Itoa(i)
		node, err := cc.MasterForKey(context.Background(), b.keys.channel(topic))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out[node.Options().Addr]; !ok {
			out[node.Options().Addr] = topic
		}
	}
	return out
}

// clusterInfoField reads one numeric field of CLUSTER INFO on addr.
func clusterInfoField(t *testing.T, addr, field string) int64 {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	info, err := c.ClusterInfo(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return infoField(info, field)
}

// infoField finds "field:value" in an INFO-style text; absent is 0.
func infoField(info, field string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64) // not a number: reported as 0, and asserted on
			return n
		}
	}
	return 0
}

// shardNumSub is PUBSUB SHARDNUMSUB channel on addr.
func shardNumSub(t *testing.T, addr, channel string) int64 {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	res, err := c.Do(context.Background(), "PUBSUB", "SHARDNUMSUB", channel).Slice()
	if err != nil || len(res) != 2 {
		t.Fatalf("PUBSUB SHARDNUMSUB %s on %s: %v %v", channel, addr, res, err)
	}
	n, _ := res[1].(int64)
	return n
}

// TestShardedPublishStaysOnItsShard: on a three-primary cluster each
// topic's channel is SSUBSCRIBEd only on the primary owning its slot, and
// publishing crosses no cluster bus (no broadcast): with classic pub/sub
// every publish is forwarded to the two other primaries.
func TestShardedPublishStaysOnItsShard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	addrs := startCluster(t, 3)
	b := newClusterBus(t, addrs, "sh", nil)
	topics := topicPerPrimary(t, b, 3)
	const perTopic = 20
	for owner, topic := range topics {
		rec := newRecorder()
		sub, err := b.Subscribe(context.Background(), []string{topic}, event.Cursor{}, rec)
		if err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
		defer sub.Close()
		ids := publishN(t, b, topic, 0, perTopic)
		if got := deliveredIDs(rec.waitFor(t, perTopic, 10*time.Second)); strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("%s: delivered %v, published %v", topic, got, ids)
		}
		for _, a := range addrs {
			want := int64(0)
			if a == owner {
				want = 1
			}
			if n := shardNumSub(t, a, b.keys.channel(topic)); n != want {
				t.Errorf("PUBSUB SHARDNUMSUB %s on %s = %d, want %d (owner %s)", topic, a, n, want, owner)
			}
		}
	}
	for _, a := range addrs {
		if n := clusterInfoField(t, a, "cluster_stats_messages_publish_received"); n != 0 {
			t.Errorf("%s received %d broadcast publishes over the cluster bus, want 0", a, n)
		}
	}

	// The same load with classic pub/sub is broadcast to every primary.
	classic := newClusterBus(t, addrs, "cl", func(o *Options) { o.ClassicPubSub = true })
	before := make(map[string]int64)
	for _, a := range addrs {
		before[a] = clusterInfoField(t, a, "cluster_stats_messages_publish_received")
	}
	for _, topic := range topicPerPrimary(t, classic, 3) {
		publishN(t, classic, topic, 0, perTopic)
	}
	for _, a := range addrs {
		// Each primary receives the publishes of the two others' topics.
		want := int64(2 * perTopic)
		waitFor(t, fmt.Sprintf("%s receives %d broadcast publishes", a, want), func() bool {
			return clusterInfoField(t, a, "cluster_stats_messages_publish_received")-before[a] >= want
		})
	}
}

// pubsubClientIDs lists the ids of the pub/sub connections on addr.
func pubsubClientIDs(t *testing.T, addr string) string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	list, err := c.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "ssub=") && !strings.Contains(line, "ssub=0") {
			ids = append(ids, strings.Fields(line)[0])
		}
	}
	return strings.Join(ids, ",")
}

// TestShardedFailoverResubscribesOnlyThatShard kills one primary of a
// three-shard cluster with replicas: its replica takes over, the bus
// routes that shard's topic to it and keeps delivering, gap-free, while
// the other shards' pub/sub connections are left alone.
func TestShardedFailoverResubscribesOnlyThatShard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node cluster")
	}
	addrs, procs := startClusterReplicas(t, 3, 1)
	b := newClusterBus(t, addrs, "fo", nil)
	topics := topicPerPrimary(t, b, 3)
	recs := make(map[string]*recorder)
	var published = make(map[string][]string)
	for _, topic := range topics {
		recs[topic] = newRecorder()
		sub, err := b.Subscribe(context.Background(), []string{topic}, event.Cursor{}, recs[topic])
		if err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
		defer sub.Close()
		published[topic] = publishN(t, b, topic, 0, 5)
		recs[topic].waitFor(t, 5, 10*time.Second)
	}
	victim := addrs[0]
	others := make(map[string]string)
	for a := range topics {
		if a != victim {
			others[a] = pubsubClientIDs(t, a)
			if others[a] == "" {
				t.Fatalf("no sharded pub/sub connection on %s", a)
			}
		}
	}
	if err := procs[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = procs[0].Wait() // killed: its exit status says nothing

	// Publish to every topic until the victim's shard accepts again (its
	// replica promoted), then more; every accepted event must arrive.
	deadline := time.Now().Add(30 * time.Second)
	for i := 5; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("victim's shard did not accept publishes within 30s of the kill")
		}
		ok := true
		for _, topic := range topics {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			out, err := b.Publish(ctx, []bus.Message{msg(topic, i)})
			cancel()
			if err != nil {
				ok = false
				continue
			}
			published[topic] = append(published[topic], out[0].Event.ID)
		}
		if ok && i > 5 {
			break
		}
		time.Sleep(100 * time.Millisecond) // pacing publishes while the cluster fails over
	}
	for _, topic := range topics {
		want := published[topic]
		got := deliveredIDs(recs[topic].waitFor(t, len(want), 20*time.Second))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			_, ev := recs[topic].snapshot()
			t.Errorf("%s: delivered %v, published %v (events %v)", topic, got, want, ev)
		}
	}
	for a, ids := range others {
		if now := pubsubClientIDs(t, a); now != ids {
			t.Errorf("pub/sub connection on untouched primary %s changed: %s -> %s", a, ids, now)
		}
	}
}

func splitLines(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") }
