// Package relaytest runs real relay processes for tests: it builds the relay
// binary once per test binary (go build), starts `relay dev` or `relay
// serve` on a free port with the environment a test gives, waits for
// /readyz, and stops them with SIGTERM (drain), SIGKILL (crash) or
// Restart. The relay's own process tests, the chaos suite and the e2e
// tests share it.
//
//	srv := redistest.Start(t)
//	a := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL()})
//	pub := a.Publisher()           // client.Publisher with the test API key
//	tok := a.Token(t, "alice", []string{"order:*"}, nil)
//	code := a.Stop(t)              // SIGTERM: drain, exit 0
//
// Processes are killed at test cleanup. What a relay prints goes to a log
// file (internal/testlog), kept and named in the test's output when the
// test failed; failures while starting quote its last lines.
//
// API: Start(t, Options) *Relay; Relay.{URL, Addr}; WaitReady, Readyz, Term
// (SIGTERM, no wait), Stop (SIGTERM + wait, exit code), Kill (SIGKILL +
// wait), Restart (same address), Signal, PID, Wait, Done, Stdout (banner),
// Stderr (JSON log lines), LastWords (its end, for a failure), WaitLog, Publisher, Publish, Token, TokenKey;
// Binary(t) (the built binary, for running other subcommands); Main(m)
// (TestMain: removes the binary); FreeAddr; NewProxy(t, target) with
// SetTarget, CloseConns, Close (a load balancer stand-in). Constants:
// TokenKey, APIKeyName, APIKey, DrainGrace, DrainTimeout, ReadyTimeout.
package relaytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/testkit/testlog"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/client"
)

// Defaults every relay started here gets unless Options.Env overrides them.
const (
	// TokenKey is HOOKRELAY_TOKEN_KEY for serve (dev runs without one
	// unless Options.TokenKey is set): 32+ bytes as serve requires.
	TokenKey = "relaytest-token-key-0123456789abcdef"
	// APIKeyName and APIKey are HOOKRELAY_API_KEYS (name:key).
	APIKeyName = "test"
	APIKey     = "relaytest-api-key"
	// DrainGrace and DrainTimeout are short so drain tests are fast.
	DrainGrace   = 200 * time.Millisecond
	DrainTimeout = 3 * time.Second
	// ReadyTimeout bounds the wait for /readyz after start.
	ReadyTimeout = 30 * time.Second
)

// Options describe a relay process.
type Options struct {
	// Mode is "dev" (default) or "serve".
	Mode string
	// RedisURL sets REDIS_URL (required for serve; dev uses the memory bus
	// without it).
	RedisURL string
	// TokenKey sets HOOKRELAY_TOKEN_KEY. Serve defaults to TokenKey; dev
	// defaults to none (anyone on loopback may subscribe). Use NoTokenKey
	// to force none.
	TokenKey   string
	NoTokenKey bool
	// Addr is host:port to listen on; default a free 127.0.0.1 port.
	Addr string
	// Env adds KEY=VALUE entries after the defaults (the last one of a key
	// wins). The test process's HOOKRELAY_* and REDIS_URL are not inherited.
	Env []string
	// Args are extra command-line flags after the mode.
	Args []string
	// NoWait returns from Start without waiting for /readyz (a test that
	// expects the start to fail, or readiness to be false).
	NoWait bool
}

// Relay is one relay process.
type Relay struct {
	// URL is http://host:port, Addr host:port.
	URL, Addr string

	opts    Options
	bin     string
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	log     *os.File      // stdout and stderr of every start, in order
	done    chan struct{} // closed when the process exited
	code    int           // exit code, valid after done
	waitErr error
}

// Start builds the binary (once) and starts a relay; it waits for /readyz
// unless o.NoWait. The process is killed at cleanup.
func Start(t testing.TB, o Options) *Relay {
	t.Helper()
	if o.Mode == "" {
		o.Mode = "dev"
	}
	if o.Addr == "" {
		o.Addr = FreeAddr(t)
	}
	r := &Relay{URL: "http://" + o.Addr, Addr: o.Addr, opts: o, bin: Binary(t)}
	r.log = testlog.File(t, "relay "+o.Mode+" "+o.Addr)
	r.start(t)
	t.Cleanup(func() { r.Kill(t) })
	if !o.NoWait {
		r.WaitReady(t, ReadyTimeout)
	}
	return r
}

func (r *Relay) start(t testing.TB) {
	t.Helper()
	r.stdout, r.stderr = &syncBuffer{}, &syncBuffer{}
	r.done = make(chan struct{})
	args := append([]string{r.opts.Mode}, r.opts.Args...)
	cmd := exec.Command(r.bin, args...)
	cmd.Env = r.environ()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(r.stdout, r.log), io.MultiWriter(r.stderr, r.log)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start relay: %v", err)
	}
	r.cmd = cmd
	go func() {
		r.waitErr = cmd.Wait()
		r.code = cmd.ProcessState.ExitCode()
		close(r.done)
	}()
}

// environ is the inherited environment without hookrelay settings, then
// the defaults, then Options.
func (r *Relay) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOOKRELAY_") || strings.HasPrefix(kv, "REDIS_URL=") {
			continue
		}
		env = append(env, kv)
	}
	o := r.opts
	env = append(env,
		"HOOKRELAY_ADDR="+o.Addr,
		"HOOKRELAY_API_KEYS="+APIKeyName+":"+APIKey,
		"HOOKRELAY_DRAIN_GRACE="+DrainGrace.String(),
		"HOOKRELAY_DRAIN_TIMEOUT="+DrainTimeout.String(),
		"HOOKRELAY_LOG_FORMAT=json",
		"HOOKRELAY_LOG_LEVEL=debug",
	)
	if o.RedisURL != "" {
		env = append(env, "REDIS_URL="+o.RedisURL)
	}
	if key := r.TokenKey(); key != "" {
		env = append(env, "HOOKRELAY_TOKEN_KEY="+key)
	}
	return append(env, o.Env...)
}

// TokenKey is the HOOKRELAY_TOKEN_KEY the relay runs with ("" for none).
func (r *Relay) TokenKey() string {
	switch {
	case r.opts.NoTokenKey:
		return ""
	case r.opts.TokenKey != "":
		return r.opts.TokenKey
	case r.opts.Mode == "serve":
		return TokenKey
	}
	return ""
}

// WaitReady polls /readyz until it answers 200; it fails the test if the
// process exits or timeout passes first.
func (r *Relay) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		status, err := r.Readyz()
		if err == nil && status == http.StatusOK {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("relay %s exited with %d before it was ready; %s", r.Addr, r.code, r.LastWords())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay %s not ready after %s (last: %d %v); %s", r.Addr, timeout, status, err, r.LastWords())
		}
	}
}

// Readyz returns the status of GET /readyz (0 and an error when the relay
// does not answer).
func (r *Relay) Readyz() (int, error) {
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(r.URL + api.ReadyzPath)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Term sends SIGTERM (start of the drain) and returns at once.
func (r *Relay) Term(t testing.TB) {
	t.Helper()
	r.signal(t, syscall.SIGTERM)
}

// Stop sends SIGTERM and waits for the exit (up to the drain deadline plus
// a margin); it returns the exit code.
func (r *Relay) Stop(t testing.TB) int {
	t.Helper()
	r.Term(t)
	code, err := r.Wait(DrainGrace + DrainTimeout + 10*time.Second)
	if err != nil {
		t.Fatalf("relay %s: %v", r.Addr, err)
	}
	return code
}

// Kill sends SIGKILL (a crash: no drain) and waits for the exit.
func (r *Relay) Kill(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
		return
	default:
	}
	r.signal(t, syscall.SIGKILL)
	if _, err := r.Wait(10 * time.Second); err != nil {
		t.Errorf("relay %s: %v", r.Addr, err)
	}
}

// Restart kills the process if it still runs (SIGKILL) and starts a new one
// with the same options and address, waiting for /readyz unless NoWait.
func (r *Relay) Restart(t testing.TB) {
	t.Helper()
	r.Kill(t)
	r.start(t)
	if !r.opts.NoWait {
		r.WaitReady(t, ReadyTimeout)
	}
}

// Signal sends sig to the process (SIGSTOP/SIGCONT pause and resume it:
// a frozen node whose sockets stay open).
func (r *Relay) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	r.signal(t, sig)
}

// PID is the process id of the current process.
func (r *Relay) PID() int { return r.cmd.Process.Pid }

func (r *Relay) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal relay %s: %v", r.Addr, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when killed by a signal).
func (r *Relay) Wait(timeout time.Duration) (int, error) {
	select {
	case <-r.done:
		return r.code, nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("still running after %s", timeout)
	}
}

// Done is closed when the process has exited.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Stdout is what the process printed on stdout (the dev banner, tokens).
func (r *Relay) Stdout() string { return r.stdout.String() }

// Stderr is the process's log (JSON lines).
func (r *Relay) Stderr() string { return r.stderr.String() }

// WaitLog waits until the log contains substr; it fails the test after
// timeout.
func (r *Relay) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.Stderr(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("relay %s: %q not logged within %s; %s", r.Addr, substr, timeout, r.LastWords())
		}
		select {
		case <-r.done:
			if !strings.Contains(r.Stderr(), substr) {
				t.Fatalf("relay %s exited (%d) without logging %q; %s", r.Addr, r.code, substr, r.LastWords())
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Publisher returns a client.Publisher using the test API key.
func (r *Relay) Publisher() *client.Publisher {
	return &client.Publisher{BaseURL: r.URL, Key: APIKey}
}

// Publish publishes msgs with the test API key and fails the test on error.
func (r *Relay) Publish(t testing.TB, msgs ...client.Message) []client.Published {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.Publisher().Publish(ctx, msgs...)
	if err != nil {
		t.Fatalf("publish to %s: %v", r.Addr, err)
	}
	return out
}

// Token mints a token with the relay's token key (fails the test when it
// runs without one).
func (r *Relay) Token(t testing.TB, sub string, subscribe, publish []string) string {
	t.Helper()
	key := r.TokenKey()
	if key == "" {
		t.Fatalf("relay %s runs without a token key", r.Addr)
	}
	tok, err := auth.Mint(key, auth.MintClaims{Subject: sub, Topics: subscribe, Publish: publish, TTL: time.Hour, Audience: "hookrelay"})
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}

// FreeAddr returns a 127.0.0.1 address with a port free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return addr
}

// build caches the relay binary of this test process: building it takes
// seconds and every test of the binary runs the same code. It is the one
// piece of package state, guarded by its Once.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// BinaryEnv names a relay binary built before the tests (make test builds
// it once, outside the -race compile, and sets this): Binary uses it instead
// of building one per test binary. Unset, Binary builds.
const BinaryEnv = "HOOKRELAY_TEST_RELAY_BIN"

// Binary returns the path of the relay binary: $HOOKRELAY_TEST_RELAY_BIN
// when set (and HOOKRELAY_RELAYTEST_RACE is not), else built once per test
// binary with `go build` (with -race when HOOKRELAY_RELAYTEST_RACE=1). Call
// Main from TestMain to delete a built one afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(BinaryEnv); bin != "" && os.Getenv("HOOKRELAY_RELAYTEST_RACE") != "1" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v", BinaryEnv, bin, err)
		}
		return bin
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "relaytest-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		build.path = filepath.Join(dir, "relay")
		args := []string{"build", "-o", build.path}
		if os.Getenv("HOOKRELAY_RELAYTEST_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "github.com/hookrelay/hookrelay/relay")
		cmd := exec.Command("go", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			build.err = fmt.Errorf("go build relay: %v\n%s", err, out.String())
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// Main runs the tests and then removes the built binary:
//
//	func TestMain(m *testing.M) { relaytest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		// Best effort: a leftover temp dir is harmless.
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the process's writer goroutine and
// the test's readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// LastWords is the end of the relay's log for a failure message: the last
// few lines (the error that stopped it is the last one) and the file with
// the rest.
func (r *Relay) LastWords() string {
	const keep = 5
	lines := strings.Split(strings.TrimRight(r.Stderr(), "\n"), "\n")
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return fmt.Sprintf("last %d log lines:\n%s\n(whole log: %s)", len(lines), strings.Join(lines, "\n"), r.log.Name())
}
