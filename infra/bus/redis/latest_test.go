package redis

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestLatestReadsSharedPerTopic guards issue 19's connect storm: every new
// connection without a cursor looks up its topic's newest event (History
// with no position). Before those reads were shared, each connection ran
// its own page script through a pool of a few connections, and under a
// storm the queue outgrew the pool timeout: healthy Redis, yet the
// connections were refused as bus_unavailable. Many concurrent lookups of
// two topics, through a pool of one connection, must each get the topic's
// newest id, without an error, and at least one round must serve them
// with far fewer Redis script runs than calls.
func TestLatestReadsSharedPerTopic(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, func(o *Options) { o.PoolSize = 1 })
	topics := []string{"start:1", "start:2"}
	newest := make(map[string]string)
	for _, tp := range topics {
		ids := publishN(t, b, tp, 0, 3)
		newest[tp] = ids[2]
	}
	const calls = 400
	deadline := time.Now().Add(30 * time.Second)
	for round := 0; ; round++ {
		before := scriptRuns(t, b)
		stats := b.Stats()
		runLatestRound(t, b, topics, newest, calls)
		runs := scriptRuns(t, b) - before
		st := b.Stats()
		if got := st.LatestRequests - stats.LatestRequests; got != calls {
			t.Fatalf("round %d: %d start lookups counted, want %d", round, got, calls)
		}
		if runs <= calls/4 {
			t.Logf("round %d: %d lookups served by %d script runs (%d reads counted)", round, calls, runs, st.LatestReads-stats.LatestReads)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no round shared the newest-event reads within 30s (last: %d lookups, %d script runs)", calls, runs)
		}
	}
}

// runLatestRound starts n History lookups without a position at once and
// checks each got its topic's newest id.
func runLatestRound(t *testing.T, b *Bus, topics []string, newest map[string]string, n int) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		tp := topics[i%len(topics)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			page, err := b.History(context.Background(), tp, "", 1)
			switch {
			case err != nil:
				t.Errorf("newest event of %s: %v", tp, err)
			case len(page.Events) != 1 || page.Events[0].ID.String() != newest[tp]:
				t.Errorf("newest event of %s: got %v, want %s", tp, page.Events, newest[tp])
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// scriptRuns is how many scripts Redis has run (EVALSHA and EVAL calls).
func scriptRuns(t *testing.T, b *Bus) int64 {
	t.Helper()
	info, err := b.client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	return cmdCalls(info, "evalsha") + cmdCalls(info, "eval")
}

// TestPoolTimeoutIsBusy: a call that waits past the pool timeout for one of
// the node's own connections (all busy, Redis healthy) fails with
// bus.ErrBusy as well as bus.ErrUnavailable, so a new stream is refused as
// over capacity rather than as a Redis outage, and is counted.
func TestPoolTimeoutIsBusy(t *testing.T) {
	srv := redistest.Start(t)
	// go-redis's pool timeout is ReadTimeout + 1 s.
	b := newTestBus(t, srv, func(o *Options) { o.PoolSize, o.ReadTimeout = 1, 200*time.Millisecond })
	held := make(chan error, 1)
	go func() {
		// BLPOP on a key nobody pushes holds the pool's only connection
		// for 5 s while Redis keeps answering everyone else.
		held <- b.client.BLPop(context.Background(), 5*time.Second, "never-pushed").Err()
	}()
	watch := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer watch.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := watch.ClientList(context.Background()).Result()
		if err == nil && strings.Contains(list, "cmd=blpop") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the BLPOP never reached Redis: %v %q", err, list)
		}
		runtime.Gosched()
	}
	before := b.Stats()
	_, err := b.History(context.Background(), "busy:1", "", 1)
	if !errors.Is(err, bus.ErrBusy) || !bus.Retryable(err) {
		t.Fatalf("history with the pool held: %v, want ErrBusy and retryable", err)
	}
	if st := b.Stats(); st.PoolTimeouts != before.PoolTimeouts+1 {
		t.Fatalf("pool timeouts %d -> %d, want one more", before.PoolTimeouts, st.PoolTimeouts)
	}
	if err := <-held; !errors.Is(err, goredis.Nil) {
		t.Fatalf("BLPOP: %v, want its timeout (nil reply)", err)
	}
	if _, err := b.History(context.Background(), "busy:1", "", 1); err != nil {
		t.Fatalf("history with the pool free again: %v", err)
	}
}
