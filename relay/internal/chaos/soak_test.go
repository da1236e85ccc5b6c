package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/api"
)

// TestSoak runs only with HOOKRELAY_SOAK=<duration> (make soak
// DURATION=10m): steady load on three relays while relays 1 and 2 are
// drained and restarted in turn; relay 0 runs the whole time and takes the
// moved clients, so a leak shows in its column. Every sample records each
// relay's RSS (/proc/<pid>/status), goroutines (go_goroutines from
// /metrics) and connections; the table is printed at the end, then the
// usual exactly-once check runs.
func TestSoak(t *testing.T) {
	raw := os.Getenv("HOOKRELAY_SOAK")
	if raw == "" {
		t.Skip("set HOOKRELAY_SOAK=<duration> (make soak DURATION=10m)")
	}
	dur, err := time.ParseDuration(raw)
	if err != nil || dur < 30*time.Second {
		t.Fatalf("HOOKRELAY_SOAK=%q: want a duration of at least 30s", raw)
	}
	r := newRun(t, clusterOpts{})
	r.sc.publishFor = dur
	r.sc.settle = 2 * time.Minute
	r.sc.subs = max(r.sc.subs, 200)
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	sampleEvery := max(dur/20, 5*time.Second)
	restartEvery := max(dur/8, 15*time.Second)
	var table []string
	sample := func(at time.Duration) {
		row := fmt.Sprintf("%8s", at.Round(time.Second))
		for _, rl := range r.c.relays {
			row += " | " + sampleRelay(rl.Addr)
		}
		table = append(table, row)
	}
	start := time.Now()
	r.publish(func() {
		sample(0)
		nextSample, nextRestart, which := sampleEvery, restartEvery, 1
		for {
			next := min(nextSample, nextRestart)
			if next >= dur {
				break
			}
			waitUntil(start.Add(next))
			if next == nextRestart {
				if code := r.c.relays[which].Stop(t); code != 0 {
					t.Errorf("relay %d exited %d", which, code)
				}
				r.c.restartRelay(which)
				which = 3 - which // 1, 2, 1, ...
				nextRestart += restartEvery
				continue
			}
			sample(time.Since(start))
			nextSample += sampleEvery
		}
	})
	sample(time.Since(start))
	r.finish("soak", checkOpts{})
	header := fmt.Sprintf("%8s", "t")
	for i := range r.c.relays {
		header += fmt.Sprintf(" | %-8s %7s %5s %5s", fmt.Sprintf("r%d pid", i), "rss_mb", "gor", "conns")
	}
	t.Logf("SOAK %s, %d subscribers, %d events/s, restart every %s (relays 1, 2 in turn; relay 0 never)\n%s\n%s",
		dur, len(r.f.subs), r.sc.rate, restartEvery, header, strings.Join(table, "\n"))
}

// sampleRelay is "rss_mb goroutines connections" of the relay at addr, or
// "down" columns while it is restarting.
func sampleRelay(addr string) string {
	pid, err := FindPID("HOOKRELAY_ADDR=" + addr)
	if err != nil {
		return fmt.Sprintf("%-28s", "down")
	}
	rss, err := RSS(pid)
	if err != nil {
		return fmt.Sprintf("%-28s", "down")
	}
	gor, conns := "?", "?"
	if text, err := fetch("http://" + addr + api.MetricsPath); err == nil {
		if v, err := MetricValue(text, "go_goroutines"); err == nil {
			gor = fmt.Sprint(v)
		}
		conns = fmt.Sprint(sumMetric(text, "hookrelay_connections"))
	}
	return fmt.Sprintf("%-8d %7.1f %5s %5s", pid, float64(rss)/(1<<20), gor, conns)
}

// sumMetric adds every labelled sample of name (connections by transport).
func sumMetric(text []byte, name string) float64 {
	var sum float64
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		_, val, ok := strings.Cut(line, "} ")
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(val, &v); err == nil {
			sum += v
		}
	}
	return sum
}

func fetch(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 8<<20))
}

// waitUntil blocks until t.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		tm := time.NewTimer(d)
		<-tm.C
	}
}
