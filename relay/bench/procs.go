package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// proc is a child process the bench started: relay, worker or redis-server.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves, for relays and redis
	in   io.WriteCloser
	out  *bufio.Reader
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill() // it may have exited already; Wait reports either way
		_ = p.cmd.Wait()         // exit status of a killed child says nothing
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startRedis runs a throwaway redis-server without persistence.
func startRedis(ctx context.Context, dir string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--loglevel", "warning", "--maxclients", "10000")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	p := &proc{name: "redis", cmd: cmd, addr: addr}
	return p, waitFor(func() error {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}, 10*time.Second)
}

// startRelay runs `<relay binary> dev` on a free port (dev: loopback clients
// need no token), with the bus the run asks for and env added to its
// environment, or `<bench binary> floor`.
func startRelay(ctx context.Context, cfg Config, redisURL, apiKey string, i int, env ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, cfg.RelayBin, "dev")
	if cfg.Server == "floor" {
		cmd = exec.CommandContext(ctx, cfg.BenchBin, "floor")
	}
	cmd.Env = append(os.Environ(),
		"HOOKRELAY_ADDR="+addr,
		"HOOKRELAY_API_KEYS=bench:"+apiKey,
		"HOOKRELAY_LOG_LEVEL=warn",
		"HOOKRELAY_MAX_CONNECTIONS=100000",
	)
	if _, set := os.LookupEnv("HOOKRELAY_CONNECTIONS_PER_IP"); !set {
		// Off unless asked for: a few source addresses carry every
		// connection. Set it to bench the relay with the cap on.
		cmd.Env = append(cmd.Env, "HOOKRELAY_CONNECTIONS_PER_IP=0")
	}
	if redisURL != "" {
		cmd.Env = append(cmd.Env, "REDIS_URL="+redisURL)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start relay %d: %w", i, err)
	}
	p := &proc{name: "relay" + strconv.Itoa(i), cmd: cmd, addr: addr}
	err = waitFor(func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	}, 20*time.Second)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("relay %d not ready: %w", i, err)
	}
	return p, nil
}

// startWorker runs `<bench binary> worker <spec>` with pipes for the phases.
func startWorker(ctx context.Context, bin string, spec workerSpec, i int) (*proc, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "worker", string(js))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %d: %w", i, err)
	}
	return &proc{name: "worker" + strconv.Itoa(i), cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

func (p *proc) readReport() (workerReport, error) {
	var r workerReport
	line, err := p.out.ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("%s: read report: %w", p.name, err)
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return r, fmt.Errorf("%s: decode report %q: %w", p.name, strings.TrimSpace(line), err)
	}
	for _, h := range []*Hist{r.Hist, r.RxHist} {
		if h != nil {
			h.unpack()
		}
	}
	return r, nil
}

func waitFor(f func() error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procStat is what /proc tells about a process.
type procStat struct {
	RSS     int64         // bytes
	CPU     time.Duration // utime + stime
	Threads int
}

// readProc reads RSS from /proc/<pid>/status and CPU from /proc/<pid>/stat
// (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func readProc(pid int) (procStat, error) {
	var st procStat
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64) // malformed /proc is not recoverable; 0 shows it
			st.RSS = kb << 10
		}
		if len(f) >= 2 && f[0] == "Threads:" {
			st.Threads, _ = strconv.Atoi(f[1]) // as above
		}
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return st, err
	}
	// The command name (field 2) may hold spaces: count fields after ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return st, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64) // field 14 overall
	stt, _ := strconv.ParseInt(fields[12], 10, 64)
	st.CPU = time.Duration(ut+stt) * 10 * time.Millisecond
	return st, nil
}
