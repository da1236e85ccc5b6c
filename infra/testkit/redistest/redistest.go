// Package redistest starts a real redis-server for tests: on a free port, in
// a temp dir, without persistence, killed when the test ends. Its output
// goes to a log file (internal/testlog) whose path a failed test logs.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/testlog"
)

// Server is a redis-server child process.
type Server struct {
	t    testing.TB
	Port int
	dir  string
	log  *os.File
	env  []string // added to the environment (StartWith)
	args []string // added to the command line (StartWith)

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start launches redis-server on a free loopback port. The test fails with a
// one-line instruction if redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with extra redis-server arguments (e.g. "--replicaof",
// host, port) and extra environment (e.g. an LD_PRELOAD clock shim); it
// returns once the server answers PING.
func StartWith(t testing.TB, env []string, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: run `make deps` (apt-get install -y redis-server)")
	}
	s := &Server{t: t, Port: freePort(t), dir: t.TempDir(), env: env, args: args}
	s.log = testlog.File(t, "redis-server "+s.Addr())
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is a redis:// URL for the server.
func (s *Server) URL() string { return "redis://" + s.Addr() }

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command("redis-server", append([]string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--protected-mode", "no",
		"--loglevel", "warning",
	}, s.args...)...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if len(s.env) > 0 {
		cmd.Env = append(os.Environ(), s.env...)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr()) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("redis-server on %s did not answer PING within 10s (its log: %s)", s.Addr(), s.log.Name())
}

// Kill stops the server with SIGKILL (no persistence: all data is gone).
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // already exited is fine: Wait reports it
	_ = cmd.Wait()         // the exit status of a killed server says nothing useful
}

// Restart kills the server and starts a fresh, empty one on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Running reports whether the process is started.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second)) // a failed deadline shows up as a read error below
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
