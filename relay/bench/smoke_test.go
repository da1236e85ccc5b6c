package bench

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) { relaytest.Main(m) }

// TestSmoke is the short version of `make bench` that `make test` runs: the
// real relay binary as relay and load processes, a few hundred connections
// for a couple of seconds, on both buses. It checks the tool's accounting
// (every expected delivery arrives, none twice, none kicked), not speed:
// figures come from `make bench` and live in docs/performance.md.
func TestSmoke(t *testing.T) {
	epollReader := runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") // reader_linux.go
	if testing.Short() {
		t.Skip("starts relay and load processes")
	}
	bin := relaytest.Binary(t)
	tool := buildTool(t)
	for _, c := range []Config{
		{Server: "relay", Bus: "memory", Relays: 1, Conns: 300, Transport: "mixed", Topics: 3, Rate: 50},
		{Server: "relay", Bus: "redis", Relays: 2, Conns: 300, Transport: "mixed", Topics: 3, Rate: 50},
		{Server: "floor", Bus: "memory", Relays: 1, Conns: 300, Transport: "sse", Topics: 1, Rate: 50},
	} {
		t.Run(c.Server+"-"+c.Bus, func(t *testing.T) {
			c.RelayBin, c.BenchBin = bin, tool
			c.Duration = 2 * time.Second
			c.Settle = 200 * time.Millisecond
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r, err := Run(ctx, c, io.Discard)
			if err != nil {
				t.Fatalf("bench run: %v", err)
			}
			t.Logf("ready %d, published %d, deliveries %d/%d, p50 %s p99 %s, RSS/conn %v, CPU %.2f µs/delivery",
				r.Ready, r.Published, r.Received, r.Expected, r.P50, r.P99, r.RSSPerConn, r.CPUPerDeliv)
			switch {
			case r.Ready != int64(c.Conns) || r.ConnErrors != 0:
				t.Fatalf("%d of %d connections ready, %d errors (%s)", r.Ready, c.Conns, r.ConnErrors, r.FirstErr)
			case r.Published == 0 || r.PublishErrs != 0:
				t.Fatalf("published %d, %d errors", r.Published, r.PublishErrs)
			case r.Lost != 0 || r.Dups != 0 || r.Kicked != 0:
				t.Fatalf("lost %d, duplicated %d, kicked %d", r.Lost, r.Dups, r.Kicked)
			case r.Received != r.Expected || r.Expected == 0:
				t.Fatalf("received %d of %d expected deliveries", r.Received, r.Expected)
			case epollReader && (r.RxStamped == 0 || r.RxP99 <= 0 || r.RxP99 > r.P99):
				// The epoll reader takes the kernel's receive time, which
				// cannot be later than the tool's own read.
				t.Fatalf("%d deliveries with a receive timestamp; at-socket p99 %s with read p99 %s", r.RxStamped, r.RxP99, r.P99)
			}
		})
	}
}

// buildTool builds relaybench, the binary the load processes and the floor
// server run as, unless make test built it already (outside the -race
// compile) and named it in $HOOKRELAY_TEST_RELAYBENCH_BIN.
func buildTool(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HOOKRELAY_TEST_RELAYBENCH_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("HOOKRELAY_TEST_RELAYBENCH_BIN: %v", err)
		}
		return bin
	}
	path := filepath.Join(t.TempDir(), "relaybench")
	out, err := exec.Command("go", "build", "-o", path, "github.com/hookrelay/hookrelay/relay/bench/cmd/relaybench").CombinedOutput()
	if err != nil {
		t.Fatalf("go build relaybench: %v\n%s", err, out)
	}
	return path
}

// TestPublishSmoke is the short version of the publish runs of `make
// bench`: relaybench publish against the relay (memory bus) and against
// the floor server, two publishers for a moment each. It checks that every
// publish is answered 200 and counted (the floor's answer must parse as
// the relay's does), not speed.
func TestPublishSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts relay processes")
	}
	bin := relaytest.Binary(t)
	tool := buildTool(t)
	for _, server := range []string{"relay", "floor"} {
		t.Run(server, func(t *testing.T) {
			cfg := PublishConfig{Server: server, Bus: "memory", Concurrency: []int{2}, Duration: 300 * time.Millisecond,
				Warmup: 100 * time.Millisecond, Topics: 1, RelayBin: bin, BenchBin: tool}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rounds, err := RunPublish(ctx, cfg, io.Discard)
			if err != nil {
				t.Fatalf("publish bench: %v", err)
			}
			if len(rounds) != 1 || rounds[0].Published == 0 || rounds[0].Errors != 0 {
				t.Fatalf("rounds %+v", rounds)
			}
		})
	}
}
