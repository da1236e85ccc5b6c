package chaos

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
)

// commandCalls sums INFO commandstats calls per command on addr.
func commandCalls(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	info, err := redisCmd(addr, "INFO", "commandstats")
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	out := make(map[string]int64)
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64) // malformed: counted 0
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// TestChaosConnectStorm: N SSE subscribers (HOOKRELAY_STORM_SUBS, default
// 2000) all on relay 0 of three, over 30 topics, while events are
// published; relay 0 is SIGKILLed and every subscriber resumes on the two
// others through the LB. It reports the resume times, the Redis commands
// the storm cost per resumed client (publishing's own commands excluded),
// and checks nothing was lost or duplicated. Run with HOOKRELAY_STORM=1:
// the test process holds three descriptors per subscriber (client and both
// LB sides), so N stays below 6,000 under the 20,000-file limit.
func TestChaosConnectStorm(t *testing.T) {
	if os.Getenv("HOOKRELAY_STORM") == "" {
		t.Skip("set HOOKRELAY_STORM=1 (and HOOKRELAY_STORM_SUBS) for the connect storm")
	}
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("HOOKRELAY_STORM_SUBS")); err == nil && v > 0 {
		n = v
	}
	sc := scale{subs: n, topics: 30, topicsPerSub: 1, rate: 30, publishFor: 20 * time.Second, settle: 120 * time.Second}
	r := newRun(t, clusterOpts{env: []string{"HOOKRELAY_CONNECTIONS_PER_IP=0", "HOOKRELAY_LOG_LEVEL=warn"}})
	r.sc = sc
	r.c.lb.Deregister(r.c.relays[1].Addr)
	r.c.lb.Deregister(r.c.relays[2].Addr)
	tok := r.c.token("chaos")
	f := &fleet{}
	for i := range n {
		s := newSubscriber(i, []string{topicName(i % sc.topics)}, r.c.lb.URL, tok)
		s.transport = client.SSE
		if err := s.init(); err != nil {
			t.Fatal(err)
		}
		s.start()
		f.subs = append(f.subs, s)
	}
	t.Cleanup(f.stop)
	waitFor(t, fmt.Sprintf("%d subscribers open", n), 120*time.Second, f.allOpen)
	r.f = f
	r.c.lb.Register(r.c.relays[1].Addr)
	r.c.lb.Register(r.c.relays[2].Addr)
	start := time.Now()
	var before, after map[string]int64
	var killed time.Time
	r.publish(func() {
		at(start, sc.publishFor/4)
		before = commandCalls(t, r.c.redis.Addr())
		killed = time.Now()
		r.c.relays[0].Kill(t)
		waitFor(t, "every subscriber resumed", 120*time.Second, f.allOpen)
		t.Logf("storm: every subscriber open again %s after the kill", time.Since(killed).Round(time.Millisecond))
		after = commandCalls(t, r.c.redis.Addr())
	})
	tl := r.finish("connect-storm", checkOpts{})
	// INFO commandstats counts the commands a script runs too: take the
	// publish script's own (one XREVRANGE each, and its writes) out.
	scripts := after["evalsha"] - before["evalsha"] + after["eval"] - before["eval"]
	var total int64
	var names []string
	for name, calls := range after {
		d := calls - before[name]
		switch name {
		case "evalsha", "eval", "info", "ping", "get", "set", "pexpire", "publish", "time", "xadd":
			continue // publishing (and its script's commands) and health checks, not the storm
		case "xrevrange":
			d -= scripts
		}
		if d <= 0 {
			continue
		}
		total += d
		names = append(names, fmt.Sprintf("%s=%d", name, d))
	}
	sort.Strings(names)
	t.Logf("storm: %d SSE subscribers resumed (reconnects %d, p50=%s p99=%s max=%s); Redis commands during the storm %d = %.2f per resumed client (%s)",
		n, len(tl.reconnects), pct(tl.reconnects, 50), pct(tl.reconnects, 99), pct(tl.reconnects, 100),
		total, float64(total)/float64(n), strings.Join(names, " "))
	t.Logf("storm: relays counted %v resume requests served by %v reads", r.c.metricSum("hookrelay_bus_resume_requests_total"), r.c.metricSum("hookrelay_bus_resume_reads_total"))
}
