package hostile

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	busredis "github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestPageCost measures, by Redis SLOWLOG, what one history page, one
// subscribe replay and one unread count cost Redis on a topic of 1000
// events of 60 KB, for history_page_bytes of 512, 256 and 128 KiB (H1 and
// H2 of the 2026-12 review; docs/security.md, "Cost bounds"). Nothing runs
// beside it: it is the quiet cost per command that sets the default. The
// figures are logged, never asserted (the machine is shared); the short
// version checks only that every path ran.
func TestPageCost(t *testing.T) {
	full := os.Getenv("HOOKRELAY_HOSTILE") == "full"
	events, calls := 40, 3
	if full {
		events, calls = 1000, 40
	}
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	seedProbeTopic(t, srv.URL(), events)
	var b strings.Builder
	b.WriteString("\n| history_page_bytes | operation | command | count | SLOWLOG p50 | p99 | max | over 5 ms |\n|---|---|---|---|---|---|---|---|\n")
	for _, pageBytes := range []int{512 << 10, 256 << 10, 128 << 10} {
		bs, err := busredis.New(ctx, busredis.Options{URL: srv.URL(), Prefix: "probe", Bus: bus.Options{HistoryPageBytes: pageBytes}})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range probeOps(t, bs) {
			groups := slowlogOf(t, rdb, func() {
				for range calls {
					op.run()
				}
			})
			if len(groups) == 0 {
				t.Errorf("%s at %d KiB: no command logged", op.name, pageBytes>>10)
			}
			for _, cmd := range slices.Sorted(maps.Keys(groups)) {
				d := groups[cmd]
				fmt.Fprintf(&b, "| %d KiB | %s | %s | %d | %s | %s | %s | %d |\n", pageBytes>>10, op.name, cmd, len(d), pct(d, 50), pct(d, 99), d[len(d)-1],
					len(d)-sortSearch(d, 5*time.Millisecond))
			}
		}
		bs.Close()
	}
	t.Log(b.String())
}

// seedProbeTopic publishes n events of about 60 KB to probe's room:p.
func seedProbeTopic(t *testing.T, url string, n int) {
	t.Helper()
	bs, err := busredis.New(context.Background(), busredis.Options{URL: url, Prefix: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	data := []byte(`"` + strings.Repeat("x", 60_000) + `"`)
	for n > 0 {
		k := min(n, 15)
		msgs := make([]bus.Message, k)
		for i := range msgs {
			msgs[i] = bus.Message{Topic: "room:p", Type: "m", Data: data}
		}
		if _, err := bs.Publish(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

type probeOp struct {
	name string
	run  func()
}

// probeOps are the read paths an attacker drives: a history page without
// and with after (H2), a subscribe replay of the whole topic (H2's SSE
// replays; pipelined XRANGE then page scripts), and unread from the
// oldest cursor (H1).
func probeOps(t *testing.T, bs *busredis.Bus) []probeOp {
	ctx := context.Background()
	first, err := bs.History(ctx, "room:p", "0-0", 1)
	if err != nil || len(first.Events) != 1 {
		t.Fatalf("first event: %v %v", first, err)
	}
	oldest := first.Events[0].ID.String()
	if err := bs.SetRead(ctx, "mallory", "room:p", oldest); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Error(err)
		}
	}
	return []probeOp{
		{"history limit=1000 (newest)", func() { _, err := bs.History(ctx, "room:p", "", 1000); must(err) }},
		{"history limit=1000 after the oldest", func() { _, err := bs.History(ctx, "room:p", oldest, 1000); must(err) }},
		{"subscribe replay from 0-0", func() { must(replayAll(bs)) }},
		{"unread from the oldest", func() { _, err := bs.Unread(ctx, "mallory", "room:p"); must(err) }},
	}
}

// replayAll subscribes from the topic's start and returns once the replay
// was delivered (the bus reads it before Subscribe returns or right
// after).
func replayAll(bs *busredis.Bus) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var from event.Cursor
	zero, err := event.ParseID("0-0")
	if err != nil {
		return err
	}
	from.Set("room:p", zero)
	h := &countHandler{got: make(chan struct{}, 1)}
	sub, err := bs.Subscribe(ctx, []string{"room:p"}, from, h)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Close()
	select {
	case <-h.got:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("replay not delivered: %w", ctx.Err())
	}
}

// countHandler signals the first delivery of a replay (the replay is
// read from Redis before anything of it is delivered).
type countHandler struct{ got chan struct{} }

func (h *countHandler) Deliver(bus.Delivery) {
	select {
	case h.got <- struct{}{}:
	default:
	}
}
func (h *countHandler) Truncated(string) {}

// slowlogOf runs f with every command logged and returns the durations
// of the reads and scripts it ran, sorted, by command: "evalsha <sha>"
// for a script (its whole run), else the command name (SLOWLOG also logs
// the reads a script makes, inside the script's time).
func slowlogOf(t *testing.T, rdb *goredis.Client, f func()) map[string][]time.Duration {
	t.Helper()
	ctx := context.Background()
	for _, c := range [][]any{{"CONFIG", "SET", "slowlog-log-slower-than", "0"}, {"CONFIG", "SET", "slowlog-max-len", "1000000"}, {"SLOWLOG", "RESET"}} {
		if err := rdb.Do(ctx, c...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	f()
	logs, err := rdb.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]time.Duration{}
	for _, l := range logs {
		cmd := strings.ToLower(l.Args[0])
		switch cmd {
		case "evalsha":
			cmd += " " + l.Args[1][:8]
		case "eval":
			continue // the first call of a script (NOSCRIPT, then EVAL)
		case "xrange", "xrevrange":
		default:
			continue
		}
		out[cmd] = append(out[cmd], l.Duration)
	}
	for _, d := range out {
		slices.Sort(d)
	}
	return out
}

func pct(d []time.Duration, p int) time.Duration { return d[min(len(d)-1, len(d)*p/100)] }

// sortSearch is the index of the first duration >= x in sorted d.
func sortSearch(d []time.Duration, x time.Duration) int {
	i, _ := slices.BinarySearch(d, x)
	return i
}
