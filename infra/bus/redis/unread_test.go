package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// retainedAfter counts the stream entries after id, the answer Unread must
// give, read the expensive way.
func retainedAfter(t *testing.T, b *Bus, topic, id string) int {
	t.Helper()
	start := "-"
	if id != "" {
		start = "(" + id
	}
	xs, err := b.client.XRange(context.Background(), b.keys.stream(topic), start, "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(xs)
}

// Unread counts from the entries' numbers; the answer must equal counting
// the retained entries after the read cursor, wherever the cursor is: at an
// entry, between entries, before the oldest retained one (trimmed away), at
// the end.
func TestUnreadCountsByNumber(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, func(o *Options) { o.Bus.HistoryLen = 10 })
	ctx := context.Background()
	ids := publishN(t, b, "inbox:1", 0, 300)
	positions := []string{"", "1-0", ids[0], ids[150], ids[290], ids[298], ids[299]}
	// A position between two entries (or after the last of its ms).
	positions = append(positions, strings.Split(ids[295], "-")[0]+"-999999")
	for i, pos := range positions {
		reader := fmt.Sprintf("r%d", i)
		if pos != "" {
			if err := b.SetRead(ctx, reader, "inbox:1", pos); err != nil {
				t.Fatalf("set read %s: %v", pos, err)
			}
		}
		u, err := b.Unread(ctx, reader, "inbox:1")
		if err != nil {
			t.Fatal(err)
		}
		if want := retainedAfter(t, b, "inbox:1", pos); u.Count != want || u.LastID != ids[299] || u.ReadID != pos {
			t.Errorf("read at %q: unread = %+v; want count %d, last %s", pos, u, want, ids[299])
		}
	}
}

// Entries written before the number field existed (an upgrade) count as the
// retained length, an upper bound, and the entries published after them
// number on from the stream's length, so a cursor among them is exact.
func TestUnreadLegacyEntries(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	stream := b.keys.stream("inbox:2")
	prev := "0-0"
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("%d-0", i)
		ev := fmt.Sprintf(`{"id":"%s","topic":"inbox:2","type":"t","time":"2026-01-01T00:00:00Z","source":"s","data":null}`, id)
		if err := b.client.XAdd(ctx, &goredis.XAddArgs{Stream: stream, ID: id, Values: []any{"p", prev, "e", ev}}).Err(); err != nil {
			t.Fatal(err)
		}
		prev = id
	}
	ids := publishN(t, b, "inbox:2", 0, 4)
	for i, tc := range []struct {
		pos  string
		want int
	}{
		{"2-0", 9}, // legacy successor: the retained length
		{"5-0", 4}, // successor is numbered
		{ids[1], 2},
		{ids[3], 0},
	} {
		reader := fmt.Sprintf("r%d", i)
		if err := b.SetRead(ctx, reader, "inbox:2", tc.pos); err != nil {
			t.Fatal(err)
		}
		u, err := b.Unread(ctx, reader, "inbox:2")
		if err != nil || u.Count != tc.want {
			t.Errorf("read at %s: unread = %+v, %v; want %d", tc.pos, u, err, tc.want)
		}
	}
}

// H1 (security review 2026-12): unread once counted by copying up to 1000
// whole events inside a script, blocking Redis for seconds on large events.
// Redis's MONITOR shows every command a script runs: whatever the history,
// unread may read at most one entry per range command.
func TestUnreadReadsTwoEntries(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	big := make([]bus.Message, 40)
	for i := range big {
		big[i] = bus.Message{Topic: "room:big", Type: "m", Data: []byte(`"` + strings.Repeat("x", 32<<10) + `"`)}
	}
	if _, err := b.Publish(ctx, big); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRead(ctx, "mallory", "room:big", "1-0"); err != nil {
		t.Fatal(err)
	}
	lines := monitor(t, srv)
	// MONITOR is asynchronous: echo a marker until it shows, so every later
	// command is seen.
	waitMonitor(t, b, lines, "monitor-ready")
	u, err := b.Unread(ctx, "mallory", "room:big")
	if err != nil || u.Count != 40 {
		t.Fatalf("unread = %+v, %v; want 40", u, err)
	}
	var ranges []string
	for _, l := range drainMonitor(t, b, lines) {
		if strings.Contains(l, `"XRANGE"`) || strings.Contains(l, `"XREVRANGE"`) {
			ranges = append(ranges, l)
			if !strings.HasSuffix(strings.TrimSpace(l), `"COUNT" "1"`) {
				t.Errorf("unread read a range of entries: %s", l)
			}
		}
	}
	if len(ranges) == 0 {
		t.Fatal("MONITOR saw no range reads: the check saw nothing")
	}
}

// monitor opens a raw MONITOR connection (go-redis's Monitor races with
// its own pool) and streams its lines.
func monitor(t *testing.T, srv *redistest.Server) <-chan string {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = c.Close() })
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		r := bufio.NewReaderSize(c, 1<<20)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case lines <- l:
			case <-done:
				return
			}
		}
	}()
	return lines
}

// waitMonitor pings with a marker until MONITOR echoes it.
func waitMonitor(t *testing.T, b *Bus, lines <-chan string, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := b.client.Echo(context.Background(), marker).Err(); err != nil {
			t.Fatal(err)
		}
		timer := time.NewTimer(100 * time.Millisecond)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("MONITOR connection closed")
				}
				if strings.Contains(l, marker) {
					timer.Stop()
					return
				}
			case <-timer.C:
				break wait
			}
		}
	}
	t.Fatal("MONITOR did not start")
}

// drainMonitor returns the lines seen up to an end marker.
func drainMonitor(t *testing.T, b *Bus, lines <-chan string) []string {
	t.Helper()
	if err := b.client.Echo(context.Background(), "monitor-end").Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("MONITOR connection closed")
			}
			if strings.Contains(l, "monitor-end") {
				return out
			}
			out = append(out, l)
		case <-deadline:
			t.Fatal("MONITOR did not echo the end marker")
		}
	}
}
