package interop

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) { relaytest.Main(m) }

// level is the size of a run: the short one runs in make test, the full one
// (HOOKRELAY_INTEROP=full) is make interop.
type level struct {
	perKind int           // instances of each npm client
	events  int           // events per scenario (over both topics)
	gap     time.Duration // between publishes
	hold    time.Duration // how long a fault lasts (Redis down, relay full)
	settle  time.Duration // how long delivery may take after the last publish
}

func levelFor() level {
	if os.Getenv("HOOKRELAY_INTEROP") == "full" {
		return level{perKind: 3, events: 300, gap: 20 * time.Millisecond, hold: 5 * time.Second, settle: 90 * time.Second}
	}
	return level{perKind: 1, events: 40, gap: 50 * time.Millisecond, hold: 2 * time.Second, settle: 60 * time.Second}
}

// scenario is one server-side event every client must survive.
type scenario struct {
	name   string
	relays int
	lb     bool // clients go through chaos.LB even to one relay
	env    func(clients int) []string
	// fault runs while the publisher is at a third of its events.
	fault func(t *testing.T, c *cluster, p *publisher, lv level) string
}

func scenarios() []scenario {
	return []scenario{
		{name: "sigkill", relays: 1, fault: func(t *testing.T, c *cluster, _ *publisher, _ level) string {
			c.relays[0].Kill(t)
			c.relays[0].Restart(t)
			return ""
		}},
		{name: "drain-single", relays: 1, env: longDrainEnv, fault: func(t *testing.T, c *cluster, _ *publisher, _ level) string {
			// Clients closed by the drain come back while it still runs
			// and are refused (restart): they must keep retrying until
			// the new process is up.
			r := c.relays[0]
			r.Term(t)
			refused := watchRefusals(r, "restart")
			if _, err := r.Wait(30 * time.Second); err != nil {
				t.Fatalf("drain: %v", err)
			}
			r.Restart(t)
			return fmt.Sprintf("refused while draining: %v", <-refused)
		}},
		{name: "drain-1-of-3", relays: 3, env: drainEnv, fault: func(t *testing.T, c *cluster, _ *publisher, _ level) string {
			r := c.relays[0]
			r.Term(t)
			if _, err := r.Wait(30 * time.Second); err != nil {
				t.Fatalf("drain: %v", err)
			}
			r.Restart(t)
			waitFor(t, "the lb to see the restarted relay", 10*time.Second, func() bool { return c.lb.Healthy(r.Addr) })
			return ""
		}},
		{name: "cap-then-freed", relays: 1, env: func(clients int) []string {
			return []string{"HOOKRELAY_MAX_CONNECTIONS=" + strconv.Itoa(clients+2)}
		}, fault: capFault},
		{name: "redis-restart", relays: 1, lb: true, fault: func(t *testing.T, c *cluster, p *publisher, lv level) string {
			// No publish is in flight at the crash: Redis restarts empty
			// (no persistence), so a half-done publish's dedup key would
			// be gone and its retry would be a second event.
			p.hold.Lock()
			defer p.hold.Unlock()
			c.redis.Kill()
			// Every client loses its connection during the outage and
			// comes back while the bus is down.
			c.lb.CutAll()
			<-time.After(lv.hold) // the outage
			c.redis.Restart()
			waitFor(t, "the relay ready again", 30*time.Second, func() bool {
				status, err := c.relays[0].Readyz()
				return err == nil && status == 200
			})
			return fmt.Sprintf("refused bus_unavailable while Redis was down: %v", refusals(c.relays[0], "bus_unavailable"))
		}},
	}
}

// drainEnv: a grace the drain's reconnects fall into, and a spread long
// enough that closed clients come back before the process exits.
func drainEnv(int) []string {
	return []string{"HOOKRELAY_DRAIN_GRACE=300ms", "HOOKRELAY_DRAIN_TIMEOUT=4s"}
}

// longDrainEnv spreads the closes of a single relay's drain over 6 s, so
// that clients closed early come back (after the 1-7 s hint) while later
// ones are still being closed: they meet the draining relay's refusal, the
// answer that used to make EventSource give up for good.
func longDrainEnv(int) []string {
	return []string{"HOOKRELAY_DRAIN_GRACE=300ms", "HOOKRELAY_DRAIN_TIMEOUT=8s"}
}

// watchRefusals samples relay r's refusal count for reason until its
// current process exits, then sends the last value. The process's Done is
// taken now: a Restart gives r a new one, and a watcher that read it after
// the restart would wait for the new process forever.
func watchRefusals(r *relaytest.Relay, reason string) <-chan float64 {
	out := make(chan float64, 1)
	done := r.Done()
	go func() {
		last := 0.0
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				out <- last
				return
			case <-tick.C:
			}
			if v := refusals(r, reason); v >= 0 {
				last = v
			}
		}
	}()
	return out
}

// capFault crashes the relay and, as soon as it is back, fills it to its
// connection cap with streams of its own, so every client coming back is
// refused (over_capacity) for a while; then it frees the slots.
func capFault(t *testing.T, c *cluster, _ *publisher, lv level) string {
	r := c.relays[0]
	r.Kill(t)
	r.Restart(t)
	f := &fillers{}
	t.Cleanup(func() { f.release() })
	tok := c.token()
	end := time.Now().Add(lv.hold)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(end) {
		f.fill(r.URL, tok) // slots freed by reaped connections are taken again
		<-tick.C
	}
	refused := refusals(r, "over_capacity")
	held := f.release()
	if refused <= float64(f.refused) {
		t.Errorf("no client was refused over_capacity (relay counted %v refusals, %d were the fillers')", refused, f.refused)
	}
	return fmt.Sprintf("fillers held %d slots; clients refused over_capacity %v times", held, refused-float64(f.refused))
}

// TestInterop runs every scenario against real third-party clients: npm
// eventsource (current major and the one before), fetch-event-source and
// ws, Chromium's EventSource, and hookrelay.js over Chromium's WebSocket
// and EventSource. Each client must end with every event exactly once, in
// order, and none may give up.
func TestInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts relays, redis-server, node and chromium")
	}
	node := nodeModules(t)
	bctx := startBrowser(t)
	page := pageServer(t)
	lv := levelFor()
	var table []row
	var timing []string
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			rows, note := runScenario(t, sc, lv, node, bctx, page.URL)
			table = append(table, rows...)
			timing = append(timing, note)
		})
	}
	t.Logf("interop table (%d events per scenario):\n%s\nreconnect times:\n%s", lv.events, formatTable(table), strings.Join(timing, "\n"))
}

func runScenario(t *testing.T, sc scenario, lv level, node string, bctx context.Context, page string) ([]row, string) {
	topics := []string{"interop:a", "interop:b"}
	nClients := lv.perKind*len(nodeKinds()) + len(browserClients())
	var env []string
	if sc.env != nil {
		env = sc.env(nClients)
	}
	env = append(env, "HOOKRELAY_ALLOWED_ORIGINS="+page)
	c := startCluster(t, sc.relays, sc.lb, env)
	tok := c.token()
	l := newLogs()
	for _, kind := range nodeKinds() {
		for i := range lv.perKind {
			startNodeClient(t, node, kind, fmt.Sprintf("%s#%d", kind, i), c.base, tok, topics, l)
		}
	}
	startBrowserClients(t, bctx, page, c.base, tok, topics, l)
	waitFor(t, "every client open", 30*time.Second, func() bool { return l.allOpen(nClients) }, l.states)

	p := newPublisher(c.base, topics)
	ctx, cancel := context.WithTimeout(context.Background(), lv.settle+time.Minute)
	defer cancel()
	if err := p.run(ctx, lv.events/3, lv.gap); err != nil {
		t.Fatal(err)
	}
	pubErr := make(chan error, 1)
	go func() { pubErr <- p.run(ctx, lv.events-lv.events/3, lv.gap) }()
	start := time.Now()
	note := sc.fault(t, c, p, lv)
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	want := p.counts()
	deadline := time.Now().Add(lv.settle)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !l.caughtUp(want) && time.Now().Before(deadline) {
		<-tick.C
	}
	rows := check(t, sc.name, l, want)
	times := reconnectTimes(l)
	summary := fmt.Sprintf("  %-14s fault+publish %5s  reconnects %3d  p50 %s  p99 %s  %s", sc.name,
		time.Since(start).Round(100*time.Millisecond), len(times), pct(times, 50), pct(times, 99), note)
	return rows, summary
}

// row is one line of the scenario × client table.
type row struct {
	scenario, client                                     string
	published, received, lost, dup, outOfOrder, spurious int
	gaveUp                                               string
}

// check compares what every client received with what was published.
func check(t *testing.T, name string, l *logs, want map[string]int) []row {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var rows []row
	for _, cn := range sortedKeys(l.clients) {
		c := l.clients[cn]
		r := row{scenario: name, client: cn, published: total, gaveUp: c.gaveUp, spurious: len(c.spurious)}
		for topic, n := range want {
			seqs := c.seqs[topic]
			r.received += len(seqs)
			d := distinct(seqs)
			r.dup += len(seqs) - d
			r.lost += n - d
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					r.outOfOrder++
				}
			}
		}
		if r.lost != 0 || r.dup != 0 || r.outOfOrder != 0 || r.gaveUp != "" || r.spurious != 0 {
			t.Errorf("%s / %s: lost %d, duplicated %d, out of order %d, gave up %q, spurious %v (last line %q)",
				name, cn, r.lost, r.dup, r.outOfOrder, r.gaveUp, c.spurious, c.lastLine)
		}
		rows = append(rows, r)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func reconnectTimes(l *logs) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, c := range l.clients {
		out = append(out, c.reconn...)
	}
	slices.Sort(out)
	return out
}

// pct is the p-th percentile (nearest rank) of sorted ds, "-" when empty.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	i := (len(ds)*p+99)/100 - 1
	return ds[max(i, 0)].Round(10 * time.Millisecond).String()
}

func formatTable(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | client | published | received | lost | duplicated | out of order | gave up | spurious |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		gave := "0"
		if r.gaveUp != "" {
			gave = "1 (" + r.gaveUp + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s | %d |\n",
			r.scenario, r.client, r.published, r.received, r.lost, r.dup, r.outOfOrder, gave, r.spurious)
	}
	return b.String()
}
