package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Report is what a run measured.
type Report struct {
	Config       Config        `json:"config"`
	Ready        int64         `json:"ready"`
	ConnErrors   int64         `json:"conn_errors"`
	FirstErr     string        `json:"first_error,omitempty"`
	RSSPerConn   []float64     `json:"rss_per_conn_bytes"` // per relay
	RelayRSS     []int64       `json:"relay_rss_bytes"`
	Published    int64         `json:"published"`
	PublishErrs  int64         `json:"publish_errors"`
	Expected     int64         `json:"expected_deliveries"`
	Received     int64         `json:"received"`
	Lost         int64         `json:"lost"`
	Dups         int64         `json:"duplicates"`
	Kicked       int64         `json:"kicked"`
	DeliveriesPS float64       `json:"deliveries_per_s"`
	P50, P99     time.Duration `json:"-"`
	Max          time.Duration `json:"-"`
	P50US        int64         `json:"p50_us"`
	P99US        int64         `json:"p99_us"`
	MaxUS        int64         `json:"max_us"`
	// Rx* is the same latency taken at the kernel's receive timestamp of
	// the subscriber's socket (SO_TIMESTAMPNS) instead of when the load
	// process got to read it: what the relay delivered, without the load
	// tool's own queue on the cores it shares with the relay.
	RxP50, RxP99 time.Duration `json:"-"`
	RxP50US      int64         `json:"rx_p50_us"`
	RxP99US      int64         `json:"rx_p99_us"`
	RxMaxUS      int64         `json:"rx_max_us"`
	RxStamped    int64         `json:"rx_stamped"` // deliveries that had a receive timestamp (the rest: read time)
	CPUPerDeliv  float64       `json:"relay_cpu_us_per_delivery"`
	RelayCPU     time.Duration `json:"relay_cpu_ns"`
	// LoadCPU is the load processes' CPU over the same phase: on a
	// machine they share with the relay, what they take is not the
	// relay's, and it bounds latency as much as the relay does.
	LoadCPU         time.Duration `json:"load_cpu_ns"`
	LoadCPUPerDeliv float64       `json:"load_cpu_us_per_delivery"`
	// CatchUp is the longest a load process waited after the last publish
	// for its subscribers to receive everything; Behind counts those that
	// had not within Config.Drain.
	CatchUp   time.Duration `json:"catch_up_ns"`
	Behind    int64         `json:"behind"`
	Resumes   int64         `json:"resumes"` // connections that ended mid-run and resumed from their cursor
	FirstDrop string        `json:"first_drop,omitempty"`
	LoadAvg   string        `json:"loadavg,omitempty"` // /proc/loadavg at the end
	Elapsed   time.Duration `json:"elapsed_ns"`        // first publish to last delivery
}

// Run executes one bench: start, connect, measure memory, publish, measure.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	dir, err := os.MkdirTemp("", "hookrelay-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var procs []*proc
	defer func() {
		// Newest first: load processes, then relays, then redis-server
		// (relays outliving Redis would log a lost pub/sub connection).
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	redisURL := cfg.RedisURL
	if cfg.Bus == "redis" && redisURL == "" {
		r, err := startRedis(ctx, dir)
		if err != nil {
			return nil, err
		}
		procs = append(procs, r)
		redisURL = "redis://" + r.addr
	}
	key := randomKey()
	var relays []*proc
	for i := 0; i < cfg.Relays; i++ {
		r, err := startRelay(ctx, cfg, redisURL, key, i)
		if err != nil {
			return nil, err
		}
		relays = append(relays, r)
		procs = append(procs, r)
	}
	rep := &Report{Config: cfg}
	time.Sleep(cfg.Settle)
	base := make([]procStat, len(relays))
	for i, r := range relays {
		if base[i], err = readProc(r.pid()); err != nil {
			return nil, err
		}
	}
	workers, err := connect(ctx, cfg, relays, rep, log)
	procs = append(procs, workers...)
	if err != nil {
		return nil, err
	}
	time.Sleep(cfg.Settle)
	for i, r := range relays {
		st, err := readProc(r.pid())
		if err != nil {
			return nil, err
		}
		n := connsOn(cfg, i)
		rep.RelayRSS = append(rep.RelayRSS, st.RSS)
		rep.RSSPerConn = append(rep.RSSPerConn, float64(st.RSS-base[i].RSS)/float64(max(n, 1)))
	}
	logf(log, "%d connections ready; RSS per connection %v bytes; publishing %.0f/s for %s", rep.Ready, rep.RSSPerConn, cfg.Rate, cfg.Duration)
	cpu0 := relaysCPU(relays)
	t0 := time.Now()
	expect := publish(ctx, cfg, relays[0].addr, key, rep)
	// The workers wait for their subscribers to catch up (up to
	// cfg.Drain), so CPU is read once every delivery was written.
	err = finish(workers, expect, cfg, rep)
	rep.Elapsed = time.Since(t0)
	rep.RelayCPU = relaysCPU(relays) - cpu0
	if la, e := os.ReadFile("/proc/loadavg"); e == nil {
		rep.LoadAvg = strings.TrimSpace(string(la))
	}
	if err != nil {
		return rep, err
	}
	rep.DeliveriesPS = float64(rep.Received) / max(rep.Elapsed, cfg.Duration).Seconds()
	if rep.Received > 0 {
		rep.CPUPerDeliv = float64(rep.RelayCPU.Microseconds()) / float64(rep.Received)
		rep.LoadCPUPerDeliv = float64(rep.LoadCPU.Microseconds()) / float64(rep.Received)
	}
	return rep, nil
}

func connsOn(cfg Config, relay int) int {
	n := cfg.Conns / cfg.Relays
	if relay < cfg.Conns%cfg.Relays {
		n++
	}
	return n
}

func connect(ctx context.Context, cfg Config, relays []*proc, rep *Report, log io.Writer) ([]*proc, error) {
	var workers []*proc
	srcs := sources(cfg.Conns/5000 + 1)
	off := 0
	for i := 0; i < cfg.Workers; i++ {
		n := cfg.Conns / cfg.Workers
		if i < cfg.Conns%cfg.Workers {
			n++
		}
		spec := workerSpec{Relays: relayAddrs(relays), Sources: srcs, Conns: n, Transport: cfg.Transport, Topics: cfg.Topics, Offset: off, Drain: cfg.Drain}
		off += n
		w, err := startWorker(ctx, cfg.BenchBin, spec, i)
		if err != nil {
			return workers, err
		}
		workers = append(workers, w)
	}
	for _, w := range workers {
		r, err := w.readReport()
		if err != nil {
			return workers, err
		}
		rep.Ready += r.Ready
		rep.ConnErrors += r.Errors
		if rep.FirstErr == "" {
			rep.FirstErr = r.FirstErr
		}
	}
	if rep.ConnErrors > 0 {
		logf(log, "%d connections failed, first: %s", rep.ConnErrors, rep.FirstErr)
	}
	return workers, nil
}

// publish sends events sequentially (per-topic order is the point) on a
// fixed schedule, each carrying its sequence number and send time.
func publish(ctx context.Context, cfg Config, addr, key string, rep *Report) map[string]int64 {
	expect := make(map[string]int64, cfg.Topics)
	client := &http.Client{Timeout: 5 * time.Second}
	total := int(cfg.Rate * cfg.Duration.Seconds())
	start := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		topic := "bench:" + strconv.Itoa(i%cfg.Topics)
		seq := expect[topic] + 1
		body := fmt.Sprintf(`{"topic":%q,"type":"bench","data":{"seq":%d,"ts":%d}}`, topic, seq, time.Now().UnixNano())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/publish", bytes.NewBufferString(body)) // constant method and valid URL
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body) // drain for keep-alive; content unused
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			rep.PublishErrs++
			continue
		}
		expect[topic] = seq
		rep.Published++
	}
	return expect
}

func relaysCPU(relays []*proc) time.Duration {
	var t time.Duration
	for _, r := range relays {
		if st, err := readProc(r.pid()); err == nil {
			t += st.CPU
		}
	}
	return t
}

func finish(workers []*proc, expect map[string]int64, cfg Config, rep *Report) error {
	js, err := json.Marshal(expect)
	if err != nil {
		return err
	}
	for _, w := range workers {
		if _, err := fmt.Fprintf(w.in, "stop %s\n", js); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	var hist, rxHist Hist
	for _, w := range workers {
		r, err := w.readReport()
		if err != nil {
			return err
		}
		rep.Received += r.Received
		rep.Lost += r.Lost
		rep.Dups += r.Dups
		rep.Kicked += r.Kicked
		rep.CatchUp = max(rep.CatchUp, r.Waited)
		rep.LoadCPU += r.CPU
		rep.RxStamped += r.RxStamped
		rep.Behind += r.Behind
		rep.Resumes += r.Resumes
		if rep.FirstDrop == "" {
			rep.FirstDrop = r.FirstDrop
		}
		if r.Hist != nil {
			hist.Merge(r.Hist)
		}
		if r.RxHist != nil {
			rxHist.Merge(r.RxHist)
		}
	}
	subsPerTopic := float64(cfg.Conns) / float64(cfg.Topics)
	rep.Expected = int64(float64(rep.Published) * subsPerTopic)
	rep.P50, rep.P99, rep.Max = hist.Quantile(0.50), hist.Quantile(0.99), time.Duration(hist.MaxUS)*time.Microsecond
	rep.P50US, rep.P99US, rep.MaxUS = rep.P50.Microseconds(), rep.P99.Microseconds(), rep.Max.Microseconds()
	rep.RxP50, rep.RxP99 = rxHist.Quantile(0.50), rxHist.Quantile(0.99)
	rep.RxP50US, rep.RxP99US, rep.RxMaxUS = rep.RxP50.Microseconds(), rep.RxP99.Microseconds(), int64(rxHist.MaxUS)
	return nil
}
