package deliverylog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// stores runs f against both stores with limits lim and a shared clock.
func stores(t *testing.T, lim Limits, f func(t *testing.T, s Store, c *clock)) {
	t.Run("memory", func(t *testing.T) {
		c := &clock{t: time.Unix(1_800_000_000, 0)}
		m := NewMemory(lim)
		m.now = c.now
		f(t, m, c)
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { client.Close() })
		c := &clock{t: time.Unix(1_800_000_000, 0)}
		r := NewRedis(client, "hrtest", lim)
		r.now = c.now
		f(t, r, c)
	})
}

func entry(c *clock, source string, i int) Entry {
	e := Entry{Time: c.t, Source: source, DeliveryID: fmt.Sprintf("d%d", i), Status: 200, Outcome: Published}
	e.ID = newID(e.Time) + fmt.Sprint(i)
	return e
}

func ids(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.DeliveryID
	}
	return out
}

func TestStoreBoundedByCount(t *testing.T) {
	stores(t, Limits{Count: 3}, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		for i := range 5 {
			c.t = c.t.Add(time.Millisecond)
			if err := s.Append(ctx, []Entry{entry(c, "shop", i)}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.List(ctx, Query{Sources: []string{"shop"}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids(got), ",") != "d4,d3,d2" {
			t.Fatalf("kept %v, want the newest 3 newest first", ids(got))
		}
	})
}

func TestStoreBoundedByBytes(t *testing.T) {
	probe, _ := encodeElement(&Entry{Time: time.Unix(1_800_000_000, 0), ID: newID(time.Now()) + "0", Source: "shop", DeliveryID: "d0", Status: 200, Outcome: Published})
	// Room for two and a half entries.
	stores(t, Limits{Bytes: int64(len(probe)*5/2 + 2)}, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		for i := range 4 {
			c.t = c.t.Add(time.Millisecond)
			if err := s.Append(ctx, []Entry{entry(c, "shop", i)}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.List(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids(got), ",") != "d3,d2" {
			t.Fatalf("kept %v, want d3,d2 (bytes bound)", ids(got))
		}
	})
}

func TestStoreBoundedByAge(t *testing.T) {
	stores(t, Limits{TTL: time.Minute}, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		if err := s.Append(ctx, []Entry{entry(c, "shop", 0)}); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(2 * time.Minute)
		got, err := s.List(ctx, Query{Sources: []string{"shop"}})
		if err != nil || len(got) != 0 {
			t.Fatalf("List after TTL = %v, %v; want nothing", ids(got), err)
		}
		if err := s.Append(ctx, []Entry{entry(c, "shop", 1)}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.List(ctx, Query{})
		if strings.Join(ids(got), ",") != "d1" {
			t.Fatalf("kept %v, want d1 only (d0 trimmed by age)", ids(got))
		}
	})
}

func TestStoreQuery(t *testing.T) {
	stores(t, Limits{}, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		a := entry(c, "shop", 1)
		b := entry(c, "stripe", 2)
		b.Status, b.Outcome, b.Reason = 401, Refused, ReasonBadSignature
		c.t = c.t.Add(time.Millisecond)
		d := entry(c, "stripe", 3)
		d.Outcome = Duplicate
		if err := s.Append(ctx, []Entry{a, b, d}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			q    Query
			want string
		}{
			{Query{}, "d3,d1,d2"},
			{Query{Sources: []string{"stripe"}}, "d3,d2"},
			{Query{Status: "refused"}, "d2"},
			{Query{Status: "4xx"}, "d2"},
			{Query{Status: "401"}, "d2"},
			{Query{Status: "duplicate"}, "d3"},
			{Query{DeliveryID: "d1"}, "d1"},
			{Query{Sources: []string{"nope"}}, ""},
			{Query{Limit: 1}, "d3"},
		} {
			got, err := s.List(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids(got), ",") != tc.want {
				// Equal times sort stably by source order; only check sets then.
				if tc.want != "d3,d1,d2" || len(got) != 3 || got[0].DeliveryID != "d3" {
					t.Errorf("List(%+v) = %v, want %s", tc.q, ids(got), tc.want)
				}
			}
		}
		got, err := s.Get(ctx, "stripe", b.ID)
		if err != nil || got.Reason != ReasonBadSignature {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx, "stripe", "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(unknown id) err = %v, want ErrNotFound", err)
		}
		if err := s.Append(ctx, []Entry{{Source: "a{b}", ID: "x", Time: c.t}}); err == nil {
			t.Fatal("Append accepted a source name with braces (goes into a Redis key)")
		}
	})
}

// TestRedisKeysExpire: both keys of a log carry the TTL, so a source that
// stops receiving deliveries costs nothing after it.
func TestRedisKeysExpire(t *testing.T) {
	srv := redistest.Start(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	r := NewRedis(client, "hrtest", Limits{TTL: time.Hour})
	ctx := context.Background()
	if err := r.Append(ctx, []Entry{{Source: "shop", ID: "x", Time: time.Now(), Outcome: Published}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{r.listKey("shop"), r.bytesKey("shop")} {
		ttl, err := client.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Fatalf("PTTL %s = %v, %v; want (0, 1h]", k, ttl, err)
		}
	}
	n, _ := client.Get(ctx, r.bytesKey("shop")).Int64()
	l, _ := client.LIndex(ctx, r.listKey("shop"), 0).Result()
	if n != int64(len(l)) {
		t.Fatalf("byte counter %d, element %d bytes", n, len(l))
	}
}

// TestStoreRefusesBadSource: a source name that could break the key layout
// (empty, too long, a hash-tag brace, a colon, white space) is refused by
// Append with an error that names it, in both stores.
func TestStoreRefusesBadSource(t *testing.T) {
	stores(t, Limits{}, func(t *testing.T, s Store, c *clock) {
		for _, name := range []string{"", strings.Repeat("s", 65), "a{b}", "a:b", "a b", "a\nb"} {
			err := s.Append(context.Background(), []Entry{entry(c, name, 0)})
			if err == nil || !strings.Contains(err.Error(), "invalid source name") {
				t.Errorf("Append with source %q: %v, want an invalid source name error", name, err)
			}
		}
	})
}
