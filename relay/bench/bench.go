// Package bench is the load generator behind `make bench`, built as its own
// binary (relay/bench/cmd/relaybench) so the production relay links none of it:
// it starts relay processes (and a redis-server for the Redis bus), opens N
// SSE and/or WebSocket subscribers from several load processes and source
// addresses, measures the relays' RSS per idle connection, then publishes at
// a set rate through POST /v1/publish and reports deliveries/s,
// publish-to-receive latency (when the load process reads an event, and at
// the kernel's receive timestamp of its socket), losses, duplicates, and
// the relay's and the load processes' CPU per delivery.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Config is one bench run.
type Config struct {
	Bus       string        // memory or redis
	Relays    int           // relay processes (memory bus: 1)
	Conns     int           // subscribers in all
	Workers   int           // load processes; 0 = one per 18,000 connections
	Transport string        // sse, ws or mixed
	Topics    int           // subscribers spread over this many topics
	Rate      float64       // events/s published in all
	Duration  time.Duration // publish phase
	Settle    time.Duration // wait before reading RSS
	Drain     time.Duration // after the last publish, wait up to this for stragglers (default 60s)
	Server    string        // relay, or floor: the reference broadcaster (floor.go)
	RelayBin  string        // relay binary; default: `relay` beside this program, else on PATH
	BenchBin  string        // this tool's binary, for load processes and the floor server; default: this executable
	RedisURL  string        // use this Redis instead of starting one
	JSON      string        // also write the report here
}

// maxPerWorker stays under this machine's 20,000 open files per process.
const maxPerWorker = 18000

func parse(args []string, stderr io.Writer) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet("relaybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Bus, "bus", "memory", "bus: memory or redis")
	fs.IntVar(&c.Relays, "relays", 1, "relay processes (the memory bus allows 1)")
	fs.IntVar(&c.Conns, "conns", 1000, "subscribers in all")
	fs.IntVar(&c.Workers, "workers", 0, "load processes (0: one per 18,000 connections)")
	fs.StringVar(&c.Transport, "transport", "sse", "sse, ws or mixed")
	fs.IntVar(&c.Topics, "topics", 1, "topics the subscribers spread over")
	fs.Float64Var(&c.Rate, "rate", 20, "events per second published (all topics)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "publish phase")
	fs.DurationVar(&c.Settle, "settle", 3*time.Second, "settle time before reading RSS")
	fs.DurationVar(&c.Drain, "drain", 60*time.Second, "after the last publish, wait up to this for every subscriber to catch up before counting missing events lost")
	fs.StringVar(&c.Server, "server", "relay", "server under load: relay, or floor (the reference SSE broadcaster the targets were set against; memory bus, SSE only)")
	fs.StringVar(&c.RelayBin, "relay-bin", "", "relay binary (default: relay beside this program, else on PATH)")
	fs.StringVar(&c.RedisURL, "redis-url", "", "use this Redis instead of starting one")
	fs.StringVar(&c.JSON, "json", "", "write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (subcommands come first: relaybench publish ...)", fs.Arg(0))
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	switch {
	case c.Bus != "memory" && c.Bus != "redis":
		return fmt.Errorf("--bus %q: want memory or redis", c.Bus)
	case c.Bus == "memory" && c.Relays != 1:
		return errors.New("--relays: the memory bus lives in one process; use --bus redis for several relays")
	case c.Relays < 1 || c.Conns < 1 || c.Topics < 1 || c.Rate <= 0:
		return errors.New("--relays, --conns, --topics and --rate must be positive")
	case c.Transport != "sse" && c.Transport != "ws" && c.Transport != "mixed":
		return fmt.Errorf("--transport %q: want sse, ws or mixed", c.Transport)
	case c.Server != "relay" && c.Server != "floor":
		return fmt.Errorf("--server %q: want relay or floor", c.Server)
	case c.Server == "floor" && (c.Bus != "memory" || c.Transport != "sse" || c.Topics != 1):
		return errors.New("--server floor: the reference broadcaster serves one topic over SSE on the memory bus only")
	case c.Conns/c.Relays > 19500:
		return errors.New("--conns: a relay holds at most ~19,500 connections here (20,000 open files per process); add --relays")
	}
	if c.Drain <= 0 {
		c.Drain = 60 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = (c.Conns + maxPerWorker - 1) / maxPerWorker
	}
	if c.Conns/c.Workers > maxPerWorker {
		return fmt.Errorf("--workers %d: at most %d connections per load process", c.Workers, maxPerWorker)
	}
	return nil
}

// Main runs `relaybench [flags]`, `relaybench publish [flags]` (the
// publish path, publish.go), `relaybench worker <spec>` (a load process)
// and `relaybench floor` (the reference server).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "floor" {
		if err := runFloor(ctx); err != nil {
			fmt.Fprintln(stderr, "bench floor:", err)
			return 1
		}
		return 0
	}
	if len(args) >= 1 && args[0] == "publish" {
		return mainPublish(ctx, args[1:], stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "worker" {
		if err := runWorker(ctx, args[1], stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "bench worker:", err)
			return 1
		}
		return 0
	}
	cfg, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "bench:", err)
		}
		return 2
	}
	if err := cfg.findBinaries(); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	rep, err := Run(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	rep.print(stdout)
	if cfg.JSON != "" {
		if err := rep.writeJSON(cfg.JSON); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	if rep.Lost > 0 || rep.Dups > 0 || rep.ConnErrors > 0 {
		return 1
	}
	return 0
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// sources returns n loopback source addresses, 127.0.0.2 onwards, so that
// each gets its own ~28k ephemeral ports.
func sources(n int) []string {
	var s []string
	for i := 0; i < n; i++ {
		s = append(s, fmt.Sprintf("127.0.%d.%d", (i+2)/250, (i+2)%250+1))
	}
	return s
}

func relayAddrs(ps []*proc) []string {
	var a []string
	for _, p := range ps {
		a = append(a, p.addr)
	}
	return a
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "bench: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

// findBinaries fills in the defaults of BenchBin (this program) and
// RelayBin (`relay` beside this program, as `make bench` builds them, else
// the one on PATH).
func (c *Config) findBinaries() error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	if c.BenchBin == "" {
		c.BenchBin = self
	}
	if c.RelayBin != "" {
		return nil
	}
	beside := filepath.Join(filepath.Dir(self), "relay")
	if st, err := os.Stat(beside); err == nil && !st.IsDir() {
		c.RelayBin = beside
		return nil
	}
	if c.RelayBin, err = exec.LookPath("relay"); err != nil {
		return fmt.Errorf("no relay binary beside %s or on PATH: build it (make build) or pass --relay-bin", self)
	}
	return nil
}
