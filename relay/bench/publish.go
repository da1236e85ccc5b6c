package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// `relaybench publish` (or `relay bench publish`) measures the publish path: N publishers, each on
// its own keep-alive connection, POST one event at a time to /v1/publish
// as fast as the relay answers, for each concurrency in turn against the
// same relay and Redis. It reports publishes/s, latency, and the relay's
// and Redis's CPU per publish (relay from /proc/<pid>/stat, Redis from
// INFO cpu), so that Redis's share is not hidden in the relay's.
//
// The load tool writes prebuilt request bytes and reads answers with a
// small parser (not net/http's client) so that it takes little of the
// CPU it shares with the relay and Redis.

// PublishConfig is one publish bench.
type PublishConfig struct {
	Bus         string        // memory or redis
	Concurrency []int         // publishers, one round per value
	Duration    time.Duration // per round
	Warmup      time.Duration // before each round, not counted
	Topics      int           // publishes spread over this many topics
	RelayBin    string
	Server      string // relay, or floor: net/http with the relay's settings and no work (floor.go)
	BenchBin    string // this tool's binary, which serves the floor
	RedisURL    string // use this Redis instead of starting one
	JSON        string // also write the rounds here
}

// PublishRound is what one concurrency measured.
type PublishRound struct {
	Concurrency int     `json:"concurrency"`
	Published   int64   `json:"published"`
	Errors      int64   `json:"errors"`
	FirstErr    string  `json:"first_error,omitempty"`
	PerSecond   float64 `json:"publishes_per_s"`
	P50US       int64   `json:"p50_us"`
	P99US       int64   `json:"p99_us"`
	RelayCPUUS  float64 `json:"relay_cpu_us_per_publish"`
	RedisCPUUS  float64 `json:"redis_cpu_us_per_publish,omitempty"`
	// PerCall is publishes per script call (EVALSHA and EVAL calls in
	// INFO commandstats): how many publishes share one.
	PerCall      float64 `json:"publishes_per_script_call,omitempty"`
	LoadCPUUS    float64 `json:"load_cpu_us_per_publish"`
	LoadAvgAtEnd string  `json:"loadavg"`
}

// answerTimeout bounds one publish: a relay that stops answering ends the
// round with errors instead of hanging it.
const answerTimeout = 30 * time.Second

// publishBody is a ~60-byte event, the size of the comparison.
const publishBody = `{"topic":"%s","type":"bench.event","data":{"n":1,"msg":"hello world, a sixty-byte event"}}`

func parsePublish(args []string, stderr io.Writer) (PublishConfig, error) {
	c := PublishConfig{}
	fs := flag.NewFlagSet("relaybench publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conc := fs.String("concurrency", "1,16,64", "comma-separated publisher counts, one round each")
	fs.StringVar(&c.Bus, "bus", "redis", "bus: memory or redis")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured time per round")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured load before each round")
	fs.IntVar(&c.Topics, "topics", 1, "topics the publishes spread over")
	fs.StringVar(&c.RelayBin, "relay-bin", "", "relay binary (default: relay beside this program, else on PATH); any relay with `relay dev` will do")
	fs.StringVar(&c.RedisURL, "redis-url", "", "use this Redis instead of starting one")
	fs.StringVar(&c.Server, "server", "relay", "server under load: relay, or floor (the relay's net/http settings, deadlines and answer headers with no publish work: what HTTP/1.1 per publish costs)")
	fs.StringVar(&c.JSON, "json", "", "write the rounds as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return c, fmt.Errorf("--concurrency %q: want numbers from 1 to 1000", *conc)
		}
		c.Concurrency = append(c.Concurrency, n)
	}
	switch {
	case c.Bus != "memory" && c.Bus != "redis":
		return c, fmt.Errorf("--bus %q: want memory or redis", c.Bus)
	case c.Server != "relay" && c.Server != "floor":
		return c, fmt.Errorf("--server %q: want relay or floor", c.Server)
	case c.Duration <= 0 || c.Topics < 1:
		return c, errors.New("--duration and --topics must be positive")
	}
	if c.Server == "floor" {
		c.Bus = "memory" // the floor has no bus
	}
	return c, nil
}

// RunPublish starts Redis (for the Redis bus) and one relay and runs every
// round against them.
func RunPublish(ctx context.Context, cfg PublishConfig, log io.Writer) ([]PublishRound, error) {
	dir, err := os.MkdirTemp("", "hookrelay-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	redisAddr := strings.TrimPrefix(cfg.RedisURL, "redis://")
	if cfg.Bus == "redis" && cfg.RedisURL == "" {
		r, err := startRedis(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer r.stop()
		redisAddr = r.addr
	}
	redisURL := ""
	if cfg.Bus == "redis" {
		redisURL = "redis://" + redisAddr
	}
	key := randomKey()
	relay, err := startRelay(ctx, Config{RelayBin: cfg.RelayBin, Server: cfg.Server, BenchBin: cfg.BenchBin}, redisURL, key, 0, "HOOKRELAY_PUBLISH_RATE=0")
	if err != nil {
		return nil, err
	}
	defer relay.stop()
	var rounds []PublishRound
	for _, n := range cfg.Concurrency {
		logf(log, "publish round: %d publishers for %s", n, cfg.Duration)
		r, err := publishRound(ctx, cfg, relay, redisAddr, key, n)
		if err != nil {
			return rounds, err
		}
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// publishLoad is the shared state of one round's publishers.
type publishLoad struct {
	measuring atomic.Bool
	published atomic.Int64
	errors    atomic.Int64
	mu        sync.Mutex
	hist      Hist
	firstErr  string
}

func publishRound(ctx context.Context, cfg PublishConfig, relay *proc, redisAddr, key string, n int) (PublishRound, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	load := &publishLoad{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", relay.addr)
		if err != nil {
			return PublishRound{}, fmt.Errorf("connect publisher %d: %w", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			load.publisher(rctx, c, relay.addr, key, i, cfg.Topics)
		}()
	}
	time.Sleep(cfg.Warmup)
	before, err := cpuNow(relay.pid(), redisAddr)
	if err != nil {
		return PublishRound{}, err
	}
	load.measuring.Store(true)
	start := time.Now()
	time.Sleep(cfg.Duration)
	load.measuring.Store(false)
	elapsed := time.Since(start)
	after, err := cpuNow(relay.pid(), redisAddr)
	cancel()
	wg.Wait()
	if err != nil {
		return PublishRound{}, err
	}
	pubs := load.published.Load()
	r := PublishRound{
		Concurrency: n, Published: pubs, Errors: load.errors.Load(), FirstErr: load.firstErr,
		PerSecond: float64(pubs) / elapsed.Seconds(),
		P50US:     load.hist.Quantile(0.50).Microseconds(),
		P99US:     load.hist.Quantile(0.99).Microseconds(),
	}
	if pubs > 0 {
		per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(pubs) }
		r.RelayCPUUS = per(after.relay - before.relay)
		r.RedisCPUUS = per(after.redis - before.redis)
		r.LoadCPUUS = per(after.self - before.self)
		if calls := after.scriptCalls - before.scriptCalls; calls > 0 {
			r.PerCall = float64(pubs) / float64(calls)
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.LoadAvgAtEnd = strings.TrimSpace(string(b))
	}
	return r, nil
}

// publisher posts one event at a time on its own connection until ctx ends;
// the request in flight then finishes (closing under it would make the
// relay log a cancelled publish).
func (l *publishLoad) publisher(ctx context.Context, c net.Conn, host, key string, i, topics int) {
	defer c.Close()
	reqs := make([][]byte, topics)
	for t := range reqs {
		body := fmt.Sprintf(publishBody, "bench:p"+strconv.Itoa((i+t)%topics))
		reqs[t] = fmt.Appendf(nil, "POST /v1/publish HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, key, len(body), body)
	}
	br := bufio.NewReaderSize(c, 4096)
	var hist Hist
	defer func() {
		l.mu.Lock()
		l.hist.Merge(&hist)
		l.mu.Unlock()
	}()
	for k := 0; ctx.Err() == nil; k++ {
		start := time.Now()
		_ = c.SetDeadline(start.Add(answerTimeout)) // a failed deadline shows up as a failed write or read
		_, err := c.Write(reqs[k%topics])
		status := 0
		if err == nil {
			status, err = readAnswer(br)
		}
		if err != nil || status != 200 {
			l.fail(fmt.Sprintf("status %d, %v", status, err))
			if err != nil {
				return
			}
			continue
		}
		if l.measuring.Load() {
			hist.Add(time.Since(start))
			l.published.Add(1)
		}
	}
}

func (l *publishLoad) fail(msg string) {
	l.errors.Add(1)
	l.mu.Lock()
	if l.firstErr == "" {
		l.firstErr = msg
	}
	l.mu.Unlock()
}

// readAnswer reads one HTTP/1.1 answer with a Content-Length body (what
// the relay's API sends) and returns its status.
func readAnswer(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return status, err
		}
		if len(h) <= 2 {
			break
		}
		if name, v, ok := strings.Cut(string(h), ":"); ok && strings.EqualFold(name, "Content-Length") {
			if length, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || length < 0 {
				return status, fmt.Errorf("bad Content-Length %q", strings.TrimSpace(v))
			}
		}
	}
	if length < 0 {
		return status, errors.New("answer without Content-Length")
	}
	_, err = br.Discard(length)
	return status, err
}

// cpuTimes is the CPU the relay, Redis and this process have used so far,
// and the script calls Redis has run.
type cpuTimes struct {
	relay, redis, self time.Duration
	scriptCalls        int64
}

func cpuNow(relayPID int, redisAddr string) (cpuTimes, error) {
	var t cpuTimes
	st, err := readProc(relayPID)
	if err != nil {
		return t, err
	}
	t.relay = st.CPU
	if st, err = readProc(os.Getpid()); err != nil {
		return t, err
	}
	t.self = st.CPU
	if redisAddr != "" {
		if t.redis, t.scriptCalls, err = redisStats(redisAddr); err != nil {
			return t, err
		}
	}
	return t, nil
}

// redisStats reads used_cpu_sys + used_cpu_user from INFO cpu (microsecond
// resolution, unlike /proc's clock ticks) and the script calls (EVALSHA and
// EVAL) from INFO commandstats.
func redisStats(addr string) (cpu time.Duration, scriptCalls int64, err error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, 0, fmt.Errorf("redis INFO: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second)) // a failed deadline shows up as a read error
	if _, err := io.WriteString(c, "INFO cpu commandstats\r\n"); err != nil {
		return 0, 0, fmt.Errorf("redis INFO: %w", err)
	}
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return 0, 0, fmt.Errorf("redis INFO: reply %q: %v", head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 || n > 1<<20 {
		return 0, 0, fmt.Errorf("redis INFO: reply length %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, 0, fmt.Errorf("redis INFO: %w", err)
	}
	var sec float64
	for _, line := range strings.Split(string(body), "\r\n") {
		name, v, _ := strings.Cut(line, ":")
		switch name {
		case "used_cpu_sys", "used_cpu_user":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("redis INFO: %s: %w", name, err)
			}
			sec += f
		case "cmdstat_evalsha", "cmdstat_eval":
			// calls=N,usec=...
			calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
			k, err := strconv.ParseInt(calls, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("redis INFO: %s: %w", name, err)
			}
			scriptCalls += k
		}
	}
	return time.Duration(sec * float64(time.Second)), scriptCalls, nil
}

// mainPublish runs `relaybench publish [flags]`.
func mainPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parsePublish(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "bench publish:", err)
		}
		return 2
	}
	bins := Config{RelayBin: cfg.RelayBin}
	if err := bins.findBinaries(); err != nil {
		fmt.Fprintln(stderr, "bench publish:", err)
		return 1
	}
	cfg.RelayBin, cfg.BenchBin = bins.RelayBin, bins.BenchBin
	rounds, err := RunPublish(ctx, cfg, stderr)
	printPublish(stdout, cfg, rounds)
	if err != nil {
		fmt.Fprintln(stderr, "bench publish:", err)
		return 1
	}
	if cfg.JSON != "" {
		b, err := json.MarshalIndent(struct {
			Config PublishConfig  `json:"config"`
			Rounds []PublishRound `json:"rounds"`
		}{cfg, rounds}, "", "  ")
		if err == nil {
			err = os.WriteFile(cfg.JSON, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "bench publish:", err)
			return 1
		}
	}
	for _, r := range rounds {
		if r.Errors > 0 {
			return 1
		}
	}
	return 0
}

func printPublish(w io.Writer, cfg PublishConfig, rounds []PublishRound) {
	fmt.Fprintf(w, "publish bench: server=%s bus=%s topics=%d duration=%s per round, ~60-byte events, one keep-alive connection per publisher\n",
		cfg.Server, cfg.Bus, cfg.Topics, cfg.Duration)
	fmt.Fprintf(w, "  (p50/p99 are histogram bucket lower bounds, within ~3%%)\n")
	fmt.Fprintf(w, "  %-11s %12s %9s %9s %16s %16s %15s %10s %7s\n", "publishers", "publishes/s", "p50", "p99", "relay CPU/pub", "Redis CPU/pub", "tool CPU/pub", "pubs/call", "errors")
	for _, r := range rounds {
		fmt.Fprintf(w, "  %-11d %12.0f %9s %9s %14.1fµs %14.1fµs %13.1fµs %10.1f %7d\n", r.Concurrency, r.PerSecond,
			time.Duration(r.P50US)*time.Microsecond, time.Duration(r.P99US)*time.Microsecond,
			r.RelayCPUUS, r.RedisCPUUS, r.LoadCPUUS, r.PerCall, r.Errors)
	}
	if len(rounds) > 0 {
		fmt.Fprintf(w, "  load average at end   %s\n", rounds[len(rounds)-1].LoadAvgAtEnd)
	}
}
