package fleet

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

func stores(t *testing.T, f func(t *testing.T, s Store, advance func(time.Duration))) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		now := time.Now()
		m.now = func() time.Time { return now }
		f(t, m, func(d time.Duration) { now = now.Add(d) })
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { c.Close() })
		// Real expiry: advance waits (bounded) for Redis to drop the key.
		f(t, NewRedis(c, "hrtest"), func(d time.Duration) {
			deadline := time.Now().Add(d + 10*time.Second)
			for time.Now().Before(deadline) {
				if n, _ := c.Exists(context.Background(), "hrtest:fleet:{fleet}:r:b").Result(); n == 0 {
					return
				}
				time.Sleep(20 * time.Millisecond) // polling with a deadline
			}
		})
	})
}

func ids(rs []Record) string {
	s := ""
	for _, r := range rs {
		s += r.ID + ","
	}
	return s
}

// TestRecordsExpire: a relay that stops refreshing leaves the list within
// its TTL; one that keeps refreshing stays.
func TestRecordsExpire(t *testing.T) {
	stores(t, func(t *testing.T, s Store, advance func(time.Duration)) {
		ctx := context.Background()
		if err := s.Put(ctx, Record{ID: "a", Connections: map[string]int{"sse": 2}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, Record{ID: "b"}, time.Second); err != nil {
			t.Fatal(err)
		}
		rs, err := s.List(ctx)
		if err != nil || ids(rs) != "a,b," || rs[0].Connections["sse"] != 2 {
			t.Fatalf("List = %+v, %v", rs, err)
		}
		advance(2 * time.Second)
		rs, err = s.List(ctx)
		if err != nil || ids(rs) != "a," {
			t.Fatalf("after b's TTL: List = %s, %v; want a only", ids(rs), err)
		}
		if err := s.Remove(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if rs, _ := s.List(ctx); len(rs) != 0 {
			t.Fatalf("after Remove: %s", ids(rs))
		}
	})
}

// TestRefreshRemovesOnStop: Refresh keeps the record and removes it when
// its context ends.
func TestRefreshRemovesOnStop(t *testing.T) {
	m := NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	put := make(chan struct{}, 1)
	go func() {
		defer close(done)
		Refresh(ctx, m, 3*time.Second, func(context.Context) Record {
			select {
			case put <- struct{}{}:
			default:
			}
			return Record{ID: "r1"}
		}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	<-put
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, _ := m.List(context.Background())
		if len(rs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("record never listed")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	cancel()
	<-done
	if rs, _ := m.List(context.Background()); len(rs) != 0 {
		t.Fatalf("record left after stop: %+v", rs)
	}
}
