package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
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

// stormScale is the size of a connect storm.
type stormScale struct {
	subs, perWorker, topics, rate int
	publishFor, open, settle      time.Duration
}

// stormScaleFor: a few hundred subscribers over two workers in plain go
// test; HOOKRELAY_STORM=full is the 15,000 over four workers
// (make storm). HOOKRELAY_STORM_SUBS overrides the count either way.
func stormScaleFor() stormScale {
	ss := stormScale{subs: 300, perWorker: 150, topics: 10, rate: 20, publishFor: 6 * time.Second, open: 60 * time.Second, settle: 60 * time.Second}
	if os.Getenv("HOOKRELAY_STORM") == "full" {
		ss = stormScale{subs: 15000, perWorker: 3750, topics: 30, rate: 30, publishFor: 30 * time.Second, open: 300 * time.Second, settle: 180 * time.Second}
	}
	if v, err := strconv.Atoi(os.Getenv("HOOKRELAY_STORM_SUBS")); err == nil && v > 0 {
		ss.subs = v
	}
	return ss
}

// TestChaosConnectStorm: every SSE subscriber is on relay 0 of three (the
// other two are deregistered from the LB while they connect), events are
// published, relay 0 is SIGKILLed and every subscriber resumes on the two
// others through the LB. The subscribers live in load worker processes
// (this test binary re-executed, stormworker_test.go), each with its own LB
// in front of the same relays, listening on and dialing from their own
// loopback addresses. The test reports how long each subscriber took to be
// open again after the kill (open: the relay's ready after the replay),
// the Redis commands the storm cost per resumed client (publishing's own
// excluded) and checks nothing was lost or duplicated.
func TestChaosConnectStorm(t *testing.T) {
	ss := stormScaleFor()
	r := newRun(t, clusterOpts{env: []string{"HOOKRELAY_CONNECTIONS_PER_IP=0", "HOOKRELAY_LOG_LEVEL=warn"}})
	r.sc = scale{subs: ss.subs, topics: ss.topics, topicsPerSub: 1, rate: ss.rate, publishFor: ss.publishFor, settle: ss.settle}
	topics := make([]string, ss.topics)
	for i := range topics {
		topics[i] = topicName(i)
	}
	r.pub = newPublisher(r.c, topics)
	opened := time.Now()
	ws := startStormWorkers(t, r.c, ss)
	t.Logf("storm: %d SSE subscribers open on relay 0 in %d workers after %s", ss.subs, len(ws), time.Since(opened).Round(time.Millisecond))
	for _, w := range ws {
		w.ask(t, "register")
	}
	start := time.Now()
	var before, after map[string]int64
	var killed time.Time
	r.publish(func() {
		at(start, ss.publishFor/4)
		before = commandCalls(t, r.c.redis.Addr())
		killed = time.Now()
		r.c.relays[0].Kill(t)
		since := "status " + strconv.FormatInt(killed.UnixNano(), 10)
		waitFor(t, "every subscriber resumed", ss.settle, func() bool {
			n := 0
			for _, w := range ws {
				n += w.ask(t, since).Open
			}
			return n == ss.subs
		})
		t.Logf("storm: every subscriber open again %s after the kill", time.Since(killed).Round(time.Millisecond))
		after = commandCalls(t, r.c.redis.Addr())
	})
	counts := make(topicCounts)
	for _, tp := range topics {
		counts[tp] = r.pub.count(tp)
	}
	stop, err := json.Marshal(counts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{}
	for _, w := range ws {
		f.subs = append(f.subs, importSubs(w.ask(t, "stop "+string(stop)).Subs)...)
	}
	tl := verify(f, r.pub, checkOpts{})
	tl.report(t, "connect-storm", f, r.pub)
	resumed := resumeTimes(t, f, killed)
	total, names := stormCommands(before, after)
	perClient := float64(total) / float64(ss.subs)
	t.Logf("CHAOS connect-storm    subs=%d workers=%d resumed=%d after the kill p50=%s p99=%s max=%s; Redis commands during the storm %d = %.2f per resumed client (%s); relays counted %v resume requests served by %v reads",
		ss.subs, len(ws), len(resumed), pct(resumed, 50), pct(resumed, 99), pct(resumed, 100), total, perClient, strings.Join(names, " "),
		r.c.metricSum("hookrelay_bus_resume_requests_total"), r.c.metricSum("hookrelay_bus_resume_reads_total"))
	reasons := make(map[string]int)
	for _, s := range f.subs {
		for r, n := range s.reasons {
			reasons[r] += n
		}
	}
	t.Logf("storm: relay closes seen by the subscribers (code reason: count): %v", reasons)
	if os.Getenv("HOOKRELAY_STORM") == "full" && perClient > 2 {
		t.Errorf("%.2f Redis commands per resumed client, the target is at most 2", perClient)
	}
}

// resumeTimes is, per subscriber, the time from the kill to its first
// open after it; a subscriber that never opened again fails the test.
func resumeTimes(t *testing.T, f *fleet, killed time.Time) []time.Duration {
	t.Helper()
	var out []time.Duration
	missing := 0
	for _, s := range f.subs {
		i := slices.IndexFunc(s.openAt, func(at time.Time) bool { return at.After(killed) })
		if i < 0 {
			missing++
			continue
		}
		out = append(out, s.openAt[i].Sub(killed))
	}
	if missing > 0 {
		t.Errorf("%d subscribers never opened again after the kill", missing)
	}
	return out
}

// stormCommands is the Redis commands between the two INFO commandstats
// snapshots that the storm caused. INFO commandstats counts the commands
// a script runs too: the publish script's own (one XREVRANGE each, and
// its writes) are taken out, as are health checks and the webhook
// delivery log's writes for the publisher's webhook deliveries
// (infra/deliverylog: LPUSH, LINDEX, LLEN, INCRBY, ZADD, ZREMRANGEBYSCORE).
func stormCommands(before, after map[string]int64) (int64, []string) {
	scripts := after["evalsha"] - before["evalsha"] + after["eval"] - before["eval"]
	var total int64
	var names []string
	for name, calls := range after {
		d := calls - before[name]
		switch name {
		case "evalsha", "eval", "info", "ping", "get", "set", "pexpire", "publish", "time", "xadd",
			"lpush", "lindex", "llen", "incrby", "zadd", "zremrangebyscore", "ltrim", "expire":
			continue
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
	return total, names
}

// stormWorker is one load worker process and its command pipe.
type stormWorker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startStormWorkers starts ceil(subs/perWorker) workers, worker k's LB on
// 127.0.0.(2+k) dialing the relays from 127.0.0.(100+k), and waits until
// each reports its subscribers open.
func startStormWorkers(t *testing.T, c *cluster, ss stormScale) []*stormWorker {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, len(c.relays))
	for i, rl := range c.relays {
		addrs[i] = rl.Addr
	}
	tok := c.token("chaos")
	var ws []*stormWorker
	for first, k := 0, 0; first < ss.subs; first, k = first+ss.perWorker, k+1 {
		spec, err := json.Marshal(stormSpec{
			First: first, N: min(ss.perWorker, ss.subs-first), Topics: ss.topics, Token: tok, Relays: addrs,
			Listen: fmt.Sprintf("127.0.0.%d", 2+k), Source: fmt.Sprintf("127.0.0.%d", 100+k), Open: ss.open, Settle: ss.settle,
		})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), stormWorkerEnv+"="+string(spec))
		cmd.Stderr = os.Stderr
		w := &stormWorker{cmd: cmd}
		if w.in, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		w.out = bufio.NewReaderSize(out, 1<<20)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start storm worker: %v", err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill() // done or failed: its exit status was read from its answers
			_ = cmd.Wait()
		})
		ws = append(ws, w)
	}
	for _, w := range ws {
		w.read(t) // {"open":N} once every subscriber of the worker is open
	}
	return ws
}

// ask sends one command and reads its answer.
func (w *stormWorker) ask(t *testing.T, line string) stormReply {
	t.Helper()
	if _, err := io.WriteString(w.in, line+"\n"); err != nil {
		t.Fatalf("storm worker %d: send %q: %v", w.cmd.Process.Pid, line, err)
	}
	return w.read(t)
}

func (w *stormWorker) read(t *testing.T) stormReply {
	t.Helper()
	line, err := w.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("storm worker %d: read answer: %v", w.cmd.Process.Pid, err)
	}
	var r stormReply
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("storm worker %d: answer %.200q: %v", w.cmd.Process.Pid, line, err)
	}
	if r.Error != "" {
		t.Fatalf("storm worker %d: %s", w.cmd.Process.Pid, r.Error)
	}
	return r
}
