package redis

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestRedisRestartedEmpty kills redis-server mid-stream and starts a fresh,
// empty one on the same port (no persistence, as in redistest).
//
// What happens: publishes during the outage fail with ErrUnavailable (never
// a silent drop); the subscription survives; after the restart the
// pub/sub connection resubscribes by itself and publishing resumes. The
// stream died with the server, so the first event after the restart names
// 0-0 as its predecessor, not the subscriber's last id: the subscriber is
// told Truncated (events accepted just before the kill could have been lost
// with the server) and then gets every event accepted after the restart,
// exactly once and in order.
func TestRedisRestartedEmpty(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, func(o *Options) { o.SubscribeTimeout = time.Second })
	ctx := context.Background()
	r := newRecorder()
	sub, err := b.Subscribe(ctx, []string{"outage"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before := publishN(t, b, "outage", 0, 5)
	r.waitFor(t, 5, 2*time.Second)

	srv.Kill()
	for i := range 3 {
		_, err := b.Publish(ctx, []bus.Message{msg("outage", 100+i)})
		if !errors.Is(err, bus.ErrUnavailable) {
			t.Fatalf("publish during outage: err = %v, want ErrUnavailable", err)
		}
	}
	if _, err := b.Publish(ctx, []bus.Message{msg("outage", 103), msg("outage", 104)}); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("batch publish during outage: err = %v, want ErrUnavailable", err)
	}
	if err := b.Ready(ctx); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Ready during outage: %v", err)
	}
	start := time.Now()
	if _, err := b.Subscribe(ctx, []string{"outage:new"}, nil, newRecorder()); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Subscribe during outage: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Subscribe during outage took %v", d)
	}

	srv.Restart()
	// The pool may still hold dead connections: each failed attempt must
	// say so; only accepted events count.
	var after []string
	deadline := time.Now().Add(10 * time.Second)
	for len(after) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("publishing did not resume; accepted %d", len(after))
		}
		out, err := b.Publish(ctx, []bus.Message{msg("outage", 200+len(after))})
		if err != nil {
			if !errors.Is(err, bus.ErrUnavailable) {
				t.Fatalf("publish after restart: %v", err)
			}
			continue
		}
		after = append(after, out[0].Event.ID)
	}
	got := r.waitFor(t, 10, 10*time.Second)
	if want := append(slices.Clone(before), after...); !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("delivered %v, want %v", deliveredIDs(got), want)
	}
	_, events := r.snapshot()
	if events[5] != "truncated outage" || slices.Index(events, "truncated outage") != 5 || len(events) != 11 {
		t.Fatalf("events %v: want 5 events, one truncation, 5 events", events)
	}
	if s := b.Stats(); s.Resubscribes == 0 || s.Truncations != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestPubSubConnectionKilled drops only the pub/sub connection (Redis keeps
// its data): events published while it is down are read from the stream
// after resubscribing, so the subscriber misses nothing and sees no
// truncation.
func TestPubSubConnectionKilled(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	r := newRecorder()
	sub, err := b.Subscribe(ctx, []string{"drop:a", "drop:b"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var want []string
	for round := range 3 {
		want = append(want, publishN(t, b, "drop:a", round*10, 5)...)
		if err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
		want = append(want, publishN(t, b, "drop:a", round*10+5, 5)...)
	}
	got := r.waitFor(t, len(want), 10*time.Second)
	if !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("delivered %v, want %v", deliveredIDs(got), want)
	}
	// Quiet topics resubscribe too: drop:b publishes only now.
	bs := publishN(t, b, "drop:b", 0, 2)
	got = r.waitFor(t, len(want)+2, 5*time.Second)
	if !slices.Equal(deliveredIDs(got[len(want):]), bs) {
		t.Fatalf("drop:b delivered %v, want %v", deliveredIDs(got[len(want):]), bs)
	}
	if _, events := r.snapshot(); slices.ContainsFunc(events, func(e string) bool { return e[0] == 't' }) {
		t.Fatalf("unexpected truncation: %v", events)
	}
	if b.Stats().Resubscribes == 0 {
		t.Fatal("no resubscribe counted")
	}
}

// TestReauthReplacesConnection: with a short ReauthInterval the pub/sub
// connection is replaced (and so re-authenticated through the credentials
// provider) repeatedly while events flow; none is lost or repeated.
func TestReauthReplacesConnection(t *testing.T) {
	srv := redistest.Start(t)
	calls := make(chan struct{}, 1000)
	b := newTestBus(t, srv, func(o *Options) {
		o.ReauthInterval = 100 * time.Millisecond
		o.CredentialsProvider = func(context.Context) (string, string, error) {
			calls <- struct{}{}
			return "default", "", nil
		}
	})
	ctx := context.Background()
	r := newRecorder()
	sub, err := b.Subscribe(ctx, []string{"reauth"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var want []string
	deadline := time.Now().Add(700 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		want = append(want, publishN(t, b, "reauth", i, 1)...)
	}
	got := r.waitFor(t, len(want), 5*time.Second)
	if !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("delivered %d events, want %d in order", len(got), len(want))
	}
	if s := b.Stats(); s.Resubscribes < 3 {
		t.Fatalf("stats %+v: want several connection replacements", s)
	}
	if len(calls) < 4 {
		t.Fatalf("credentials provider called %d times", len(calls))
	}
}

// TestHistoryExpiredWhileSubscribed: a topic idle past HistoryTTL loses its
// stream, and the next event starts a new one (prev 0-0). A subscriber
// connected throughout saw every event, so it gets no Truncated (as on the
// memory bus); one resuming from an expired position does.
func TestHistoryExpiredWhileSubscribed(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, func(o *Options) { o.Bus.HistoryTTL = 200 * time.Millisecond })
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	r := newRecorder()
	sub, err := b.Subscribe(ctx, []string{"idle"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before := publishN(t, b, "idle", 0, 2)
	r.waitFor(t, 2, 2*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for admin.Exists(ctx, b.keys.stream("idle")).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("stream did not expire")
		}
		time.Sleep(20 * time.Millisecond) // waiting for Redis's expiry, not our code
	}
	after := publishN(t, b, "idle", 2, 2)
	got := r.waitFor(t, 4, 2*time.Second)
	if want := append(slices.Clone(before), after...); !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("delivered %v, want %v", deliveredIDs(got), want)
	}
	if _, events := r.snapshot(); slices.Contains(events, "truncated idle") {
		t.Fatalf("live subscriber told Truncated: %v", events)
	}
	resumer := newRecorder()
	pos, _ := event.ParseID(before[1])
	s2, err := b.Subscribe(ctx, []string{"idle"}, event.Cursor{{Topic: "idle", ID: pos}}, resumer)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, events := resumer.snapshot(); len(events) != 3 || events[0] != "truncated idle" {
		t.Fatalf("resumer events %v, want Truncated then 2 events", events)
	}
}
