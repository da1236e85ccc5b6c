package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// numsub polls PUBSUB NUMSUB until channel has want subscribers.
func numsub(t *testing.T, admin *goredis.Client, channel string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := admin.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if m[channel] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB %s = %d, want %d", channel, m[channel], want)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis, not waiting for our own code
	}
}

// TestSubscribeIsReferenceCounted: one SUBSCRIBE per topic per Bus whatever
// the number of local subscriptions, released with the last one.
func TestSubscribeIsReferenceCounted(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	chA, chB := b.keys.channel("rc:a"), b.keys.channel("rc:b")
	s1, err := b.Subscribe(ctx, []string{"rc:a"}, nil, bustest.NewCollector())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.Subscribe(ctx, []string{"rc:a", "rc:b"}, nil, bustest.NewCollector())
	if err != nil {
		t.Fatal(err)
	}
	numsub(t, admin, chA, 1)
	numsub(t, admin, chB, 1)
	s1.Close()
	numsub(t, admin, chA, 1)
	s2.Close()
	numsub(t, admin, chA, 0)
	numsub(t, admin, chB, 0)
	if chans, err := admin.PubSubChannels(ctx, b.keys.prefix+":*").Result(); err != nil || len(chans) != 0 {
		t.Fatalf("PUBSUB CHANNELS = %v, %v; want none", chans, err)
	}
	// Subscribing again after the release works (no stale state).
	c := bustest.NewCollector()
	s3, err := b.Subscribe(ctx, []string{"rc:a"}, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	numsub(t, admin, chA, 1)
	publishN(t, b, "rc:a", 0, 1)
	if _, err := c.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestTwoRelays: two Bus instances on one Redis (two relay nodes) see each
// other's events with the same ids.
func TestTwoRelays(t *testing.T) {
	srv := redistest.Start(t)
	b1 := newTestBus(t, srv, nil)
	b2 := newTestBus(t, srv, nil) // same test name, same prefix
	ctx := context.Background()
	c1, c2 := bustest.NewCollector(), bustest.NewCollector()
	for _, x := range []struct {
		b *Bus
		c *bustest.Collector
	}{{b1, c1}, {b2, c2}} {
		s, err := x.b.Subscribe(ctx, []string{"room:lobby"}, nil, x.c)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
	var want []string
	for i := range 10 {
		want = append(want, publishN(t, []*Bus{b1, b2}[i%2], "room:lobby", i, 1)...)
	}
	for i, c := range []*bustest.Collector{c1, c2} {
		ds, err := c.Wait(10, 5*time.Second)
		if err != nil {
			t.Fatalf("relay %d: %v", i+1, err)
		}
		if !slices.Equal(deliveredIDs(ds), want) {
			t.Fatalf("relay %d got %v, want %v", i+1, deliveredIDs(ds), want)
		}
	}
}

// TestACLUser: a Redis ACL user limited to the bus's keys and channels can
// run everything (the publish script needs INFO for the primary's
// replication id); a wrong password fails New with ErrUnavailable.
func TestACLUser(t *testing.T) {
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	err := admin.Do(ctx, "ACL", "SETUSER", "relay", "on", ">s3cret", "resetkeys", "~acl:*",
		"resetchannels", "&acl:*", "-@all", "+@stream", "+@pubsub", "+@scripting", "+@string",
		"+@hash", "+@keyspace", "+ping", "+time", "+info", "+hello", "+auth", "+client").Err()
	if err != nil {
		t.Fatal(err)
	}
	viaURL := newTestBus(t, srv, func(o *Options) {
		o.URL = "redis://relay:s3cret@" + srv.Addr()
		o.Prefix = "acl"
	})
	viaFields := newTestBus(t, srv, func(o *Options) {
		o.Username, o.Password, o.Prefix = "relay", "s3cret", "acl"
	})
	var asked atomic.Int32
	viaProvider := newTestBus(t, srv, func(o *Options) {
		o.Prefix = "acl"
		o.CredentialsProvider = func(context.Context) (string, string, error) {
			asked.Add(1)
			return "relay", "s3cret", nil
		}
	})
	if asked.Load() == 0 {
		t.Fatal("credentials provider not asked")
	}
	c := bustest.NewCollector()
	sub, err := viaURL.Subscribe(ctx, []string{"secure"}, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var want []string
	for i, b := range []*Bus{viaURL, viaFields, viaProvider} {
		m := msg("secure", i)
		m.IdempotencyKey = fmt.Sprint("k", i)
		ps, err := b.Publish(ctx, []bus.Message{m})
		if err != nil {
			t.Fatalf("bus %d publish: %v", i, err)
		}
		want = append(want, ps[0].Event.ID)
		if err := b.SetRead(ctx, "ann", "secure", ps[0].Event.ID); err != nil {
			t.Fatalf("bus %d set read: %v", i, err)
		}
	}
	ds, err := c.Wait(3, 5*time.Second)
	if err != nil || !slices.Equal(deliveredIDs(ds), want) {
		t.Fatalf("delivered %v (%v), want %v", deliveredIDs(ds), err, want)
	}

	_, err = New(ctx, Options{URL: "redis://relay:wrong@" + srv.Addr(), Prefix: "acl"})
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("wrong password: err = %v, want ErrUnavailable", err)
	}
	// The default user may not touch another prefix's keys as relay.
	other := newTestBus(t, srv, func(o *Options) { o.Username, o.Password, o.Prefix = "relay", "s3cret", "other" })
	if _, err := other.Publish(ctx, []bus.Message{msg("secure", 9)}); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("publish outside the ACL's keys: err = %v, want ErrUnavailable", err)
	}
}

// TestPublishWithoutInfo: an ACL user that may not run INFO still
// publishes (the failover check of the publish script is then off, see
// publishLua) and writes no replication-id key.
func TestPublishWithoutInfo(t *testing.T) {
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "noinfo", "on", ">s3cret", "~*", "&*", "+@all", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	b := newTestBus(t, srv, func(o *Options) { o.Username, o.Password = "noinfo", "s3cret" })
	ids := publishN(t, b, "order:7", 0, 2)
	page, err := b.History(ctx, "order:7", ids[0], 10)
	if err != nil || page.Truncated || len(page.Events) != 1 || page.Events[0].ID.String() != ids[1] {
		t.Fatalf("history after the first: %+v, %v; want %s without truncation", page, err, ids[1])
	}
	if n, err := admin.Exists(ctx, b.keys.writer("order:7")).Result(); err != nil || n != 0 {
		t.Fatalf("replication-id key exists %d (%v), want 0", n, err)
	}
}

// closingHandler closes its own subscription from inside Deliver.
type closingHandler struct {
	sub atomic.Pointer[bus.Subscription]
	n   atomic.Int32
	hit chan struct{}
}

func (h *closingHandler) Deliver(bus.Delivery) {
	if h.n.Add(1) == 1 {
		(*h.sub.Load()).Close()
		close(h.hit)
	}
}

func (h *closingHandler) Truncated(string) {}

func TestCloseFromInsideHandler(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	h := &closingHandler{hit: make(chan struct{})}
	barrier := bustest.NewCollector()
	bs, err := b.Subscribe(ctx, []string{"selfclose"}, nil, barrier)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	sub, err := b.Subscribe(ctx, []string{"selfclose"}, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	h.sub.Store(&sub)
	publishN(t, b, "selfclose", 1, 3)
	select {
	case <-h.hit:
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
	if _, err := barrier.Wait(3, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := h.n.Load(); n != 1 {
		t.Fatalf("handler called %d times after closing itself", n)
	}
}

// TestBatchAfterScriptFlush: a pipelined batch finds the script cache
// empty (as after a Redis restart), loads the script and publishes all.
func TestBatchAfterScriptFlush(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	for range 2 {
		if err := admin.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		ps, err := b.Publish(ctx, []bus.Message{msg("flush", 0), msg("flush", 1), msg("flush", 2)})
		if err != nil || len(ps) != 3 {
			t.Fatalf("batch after SCRIPT FLUSH: %d published, %v", len(ps), err)
		}
	}
	page, err := b.History(ctx, "flush", "", 10)
	if err != nil || len(page.Events) != 6 {
		t.Fatalf("history: %d events, %v", len(page.Events), err)
	}
}

// TestKeysAreHashTagged: every key of a topic shares the {topic} hash tag,
// so scripts stay valid on Redis Cluster.
func TestKeysAreHashTagged(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	m := msg("order:7", 0)
	m.IdempotencyKey = "x"
	if _, err := b.Publish(ctx, []bus.Message{m}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRead(ctx, "ann", "order:7", "1-0"); err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	keys, err := admin.Keys(ctx, b.keys.prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	p := b.keys.prefix
	want := []string{p + ":{order:7}:d:x", p + ":{order:7}:l", p + ":{order:7}:r", p + ":{order:7}:s", p + ":{order:7}:w"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for _, k := range keys {
		slot, err := admin.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Skipf("CLUSTER KEYSLOT unavailable: %v", err)
		}
		if want, _ := admin.ClusterKeySlot(ctx, "{order:7}").Result(); slot != want {
			t.Fatalf("key %s in slot %d, want %d", k, slot, want)
		}
	}
	for _, k := range []string{p + ":{order:7}:s", p + ":{order:7}:l"} {
		ttl, err := admin.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Fatalf("%s TTL %v, %v", k, ttl, err)
		}
	}
}

// busClosingHandler closes the whole Bus from inside Deliver.
type busClosingHandler struct {
	b    *Bus
	done chan error
}

func (h *busClosingHandler) Deliver(bus.Delivery) { h.done <- h.b.Close() }
func (h *busClosingHandler) Truncated(string)     {}

func TestBusCloseFromInsideHandler(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	h := &busClosingHandler{b: b, done: make(chan error, 1)}
	sub, err := b.Subscribe(context.Background(), []string{"closeall"}, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// Published through another Bus: b may be closed before Publish returns.
	publishN(t, newTestBus(t, srv, nil), "closeall", 0, 1)
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a handler did not return")
	}
	select {
	case <-b.disp.done:
	case <-time.After(5 * time.Second):
		t.Fatal("dispatcher still running after Close")
	}
}
