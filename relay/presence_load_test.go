package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestPresenceLoad fills one room across 3 relay processes on one Redis,
// measures Redis memory and commands per second at steady state and the
// join -> visible delay on another relay, then SIGKILLs the relay holding
// killN members and measures how long until all have left and how many
// leave announcements there were. It asserts correctness (every member
// seen, every leave exactly once), never a speed: the numbers are logged.
//
// The short version (300 members, 100 killed) runs in make test;
// HOOKRELAY_PRESENCE_LOAD=full is the measurement of the issue (10,000
// members, 5,000 killed), run as:
//
//	HOOKRELAY_PRESENCE_LOAD=full go test -count=1 -timeout 20m -run TestPresenceLoad -v ./relay
//
// Members are raw SSE connections that read until `event: ready` and then
// hold the socket without reading (no goroutine each), so the test process
// stays far below its 20,000 open files.
func TestPresenceLoad(t *testing.T) {
	// The short version shortens the TTL (default 15 s) to stay quick.
	members, killN, probes, window, ttl := 300, 100, 20, 2*time.Second, 3*time.Second
	if os.Getenv("HOOKRELAY_PRESENCE_LOAD") == "full" {
		members, killN, probes, window, ttl = 10000, 5000, 200, 10*time.Second, 15*time.Second
	}
	const room = "room:load"
	srv := redistest.Start(t)
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rc.Close() }) // test teardown
	ctx := context.Background()
	baseMem := redisInfo(t, rc, "memory", "used_memory")

	var relays []*relaytest.Relay
	for range 3 {
		relays = append(relays, relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: srv.URL(), TokenKey: relaytest.TokenKey,
			Env: []string{"HOOKRELAY_PRESENCE_MAX_MEMBERS=20000", "HOOKRELAY_PRESENCE_TTL=" + ttl.String(), "HOOKRELAY_LOG_LEVEL=warn"}}))
	}
	// The watcher's own subject is a member too: counts below add 1.
	w := watch(t, relays[0], room)

	// Fill: killN members on relay 2, the rest split over relays 0 and 1.
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	var mu sync.Mutex
	var conns []net.Conn
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := relays[i%2]
				if i < killN {
					r = relays[2]
				}
				c, _ := joinSSE(t, r, room, fmt.Sprintf("m%05d", i))
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	for i := range members {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close() // teardown
		}
	})
	t.Logf("%d members connected in %s", members, time.Since(start).Round(time.Millisecond))
	w.waitCount(t, members+1, 2*time.Minute)
	t.Logf("all %d members visible on relay 0 after %s", members, time.Since(start).Round(time.Millisecond))

	// Steady state: Redis memory and command rate.
	mem := redisInfo(t, rc, "memory", "used_memory")
	var keyBytes int64
	keys, err := rc.Keys(ctx, "hr:{"+room+"}:p:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		n, err := rc.MemoryUsage(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		keyBytes += n
	}
	c0, e0 := redisInfo(t, rc, "stats", "total_commands_processed"), commandCalls(t, rc)
	steady := time.NewTimer(window)
	<-steady.C // the measurement window itself, not a wait for a condition
	c1, e1 := redisInfo(t, rc, "stats", "total_commands_processed"), commandCalls(t, rc)
	t.Logf("steady state, %d members, 3 relays: Redis used_memory %d -> %d bytes (+%d, %.0f B/member); presence keys (%d) MEMORY USAGE %d bytes (%.0f B/member)",
		members, baseMem, mem, mem-baseMem, float64(mem-baseMem)/float64(members), len(keys), keyBytes, float64(keyBytes)/float64(members))
	t.Logf("steady state: %.1f commands/s processed (all clients, over %s); INFO commandstats (commands run inside scripts included): %s",
		float64(c1-c0)/window.Seconds(), window, rates(e0, e1, window))

	// Join -> visible on another relay: probes join relay 1, relay 0 sees.
	joined := make([]time.Time, probes)
	var pwg sync.WaitGroup
	for i := range probes {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			// Spread over a few intervals so probes land at every phase of
			// the relays' sync ticks.
			delay := time.NewTimer(time.Duration(i) * 3 * time.Second / time.Duration(probes))
			<-delay.C
			c, at := joinSSE(t, relays[1], room, fmt.Sprintf("p%05d", i))
			mu.Lock()
			conns = append(conns, c)
			joined[i] = at
			mu.Unlock()
		}()
	}
	pwg.Wait()
	w.waitCount(t, members+probes+1, time.Minute)
	var lat []time.Duration
	for i := range probes {
		lat = append(lat, w.joinedAt(fmt.Sprintf("p%05d", i)).Sub(joined[i]))
	}
	slices.Sort(lat)
	t.Logf("join -> visible on another relay (%d probes at %d members, interval 1s): p50 %s p99 %s max %s",
		probes, members, pct(lat, 50), pct(lat, 99), lat[len(lat)-1])

	// SIGKILL relay 2 with killN members.
	relays[2].Kill(t)
	killed := time.Now()
	w.waitCount(t, members+probes-killN+1, 2*time.Minute)
	allLeft := time.Since(killed)
	leaves, twice := w.leaveCounts()
	logLeaves := logLeaveCounts(t, rc, room)
	var missing, dup int
	for i := range killN {
		sub := fmt.Sprintf("m%05d", i)
		if logLeaves[sub] != 1 {
			dup++
		}
		if leaves[sub] != 1 {
			missing++
		}
	}
	t.Logf("relay 2 SIGKILLed with %d members: all left (as seen on relay 0) after %s (TTL %s); leave announcements seen %d, in the Redis log %d",
		killN, allLeft.Round(time.Millisecond), ttl, sumCounts(leaves), sumCounts(logLeaves))
	if missing > 0 || twice > 0 {
		t.Errorf("relay 0's watcher: %d of the killed members not seen leaving exactly once, %d leaves repeated", missing, twice)
	}
	if dup > 0 {
		t.Errorf("%d killed members do not have exactly one leave in the Redis log", dup)
	}
	if n := sumCounts(logLeaves); n != killN {
		t.Errorf("the Redis log holds %d leaves, want %d (the killed relay's members only)", n, killN)
	}
}

// joinSSE opens a raw SSE stream of sub on topic, reads until the stream
// is ready (the relay joins the member then) and returns the connection,
// no longer read, and when it was ready.
func joinSSE(t *testing.T, r *relaytest.Relay, topic, sub string) (net.Conn, time.Time) {
	tok := r.Token(t, sub, []string{"room:*"}, nil)
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Errorf("dial %s: %v", r.Addr, err)
		return nil, time.Time{}
	}
	q := url.Values{"topic": {topic}, "token": {tok}}
	if _, err := fmt.Fprintf(c, "GET /v1/sse?%s HTTP/1.1\r\nHost: %s\r\n\r\n", q.Encode(), r.Addr); err != nil {
		t.Errorf("request: %v", err)
		return c, time.Time{}
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a stuck relay fails the read below
	br := bufio.NewReaderSize(c, 512)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Errorf("%s on %s: no ready event: %v", sub, r.Addr, err)
			return c, time.Time{}
		}
		if strings.HasPrefix(line, "event: ready") {
			return c, time.Now()
		}
	}
}

// watcher follows a room's presence over WebSocket, recording when each
// subject was first seen and how often each was seen leaving.
type watcher struct {
	mu     sync.Mutex
	count  int
	seen   map[string]time.Time
	leaves map[string]int
	wake   chan struct{}
}

func watch(t *testing.T, r *relaytest.Relay, topic string) *watcher {
	t.Helper()
	tok := r.Token(t, "watcher", []string{"room:*"}, nil)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial(strings.Replace(r.URL, "http", "ws", 1)+"/v1/ws?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() }) // teardown
	if err := conn.WriteJSON(map[string]any{"op": "subscribe", "topics": []string{topic}, "presence": true}); err != nil {
		t.Fatal(err)
	}
	w := &watcher{seen: map[string]time.Time{}, leaves: map[string]int{}, wake: make(chan struct{}, 1)}
	go func() {
		for {
			var f presenceFrame
			if err := conn.ReadJSON(&f); err != nil {
				return
			}
			if f.Op == "presence" {
				w.apply(f)
			}
		}
	}()
	return w
}

func (w *watcher) apply(f presenceFrame) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count = f.Count
	for _, m := range f.Members {
		if _, ok := w.seen[m.Sub]; !ok {
			w.seen[m.Sub] = now
		}
	}
	for _, m := range f.Join {
		if _, ok := w.seen[m.Sub]; !ok {
			w.seen[m.Sub] = now
		}
	}
	for _, sub := range f.Leave {
		w.leaves[sub]++
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) waitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		got := w.count
		w.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-w.wake:
		case <-deadline.C:
			t.Fatalf("watcher count %d after %s, want %d", got, timeout, n)
		}
	}
}

func (w *watcher) joinedAt(sub string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[sub]
}

// leaveCounts returns leaves per subject and how many were repeated.
func (w *watcher) leaveCounts() (map[string]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	twice := 0
	for _, n := range w.leaves {
		twice += max(0, n-1)
	}
	return maps.Clone(w.leaves), twice
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// logLeaveCounts counts the leave entries per subject in the room's log.
func logLeaveCounts(t *testing.T, rc *goredis.Client, topic string) map[string]int {
	t.Helper()
	entries, err := rc.XRange(context.Background(), "hr:{"+topic+"}:p:l", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range entries {
		if sub, ok := e.Values["l"].(string); ok {
			out[sub]++
		}
	}
	return out
}

// redisInfo reads one integer field of an INFO section.
func redisInfo(t *testing.T, rc *goredis.Client, section, field string) int64 {
	t.Helper()
	s, err := rc.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s %s = %q", section, field, v)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// commandCalls is INFO commandstats' call count per command.
func commandCalls(t *testing.T, rc *goredis.Client) map[string]int64 {
	t.Helper()
	s, err := rc.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(s, "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		n, err := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		if err != nil {
			t.Fatalf("commandstats %q", line)
		}
		out[name] = n
	}
	return out
}

// rates formats the per-second call rates between two commandstats.
func rates(before, after map[string]int64, window time.Duration) string {
	var parts []string
	for name, n := range after {
		if d := n - before[name]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f/s", name, float64(d)/window.Seconds()))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))].Round(time.Millisecond)
}
