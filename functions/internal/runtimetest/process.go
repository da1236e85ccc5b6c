package runtimetest

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/testlog"
)

// BinDirEnv names a directory of bootstraps built before the tests, one
// per function named for its package (ingest, publish): make test builds
// them once, outside the -race compile, so the Lambda tests do not wait
// behind it. Unset, or without the function's file, Build compiles it.
const BinDirEnv = "HOOKRELAY_TEST_LAMBDA_DIR"

// Build returns a bootstrap of pkg ("github.com/hookrelay/hookrelay/functions/ingest")
// built the way make lambda does (-tags lambda.norpc, CGO off): the one in
// $HOOKRELAY_TEST_LAMBDA_DIR if there is one, else compiled into a temp dir.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if dir := os.Getenv(BinDirEnv); dir != "" {
		bin := filepath.Join(dir, path.Base(pkg))
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Process is a running bootstrap.
type Process struct {
	// Started is when the process was started (cold start begins).
	Started time.Time
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
}

// Run starts bin as Lambda would, with AWS_LAMBDA_RUNTIME_API pointing at
// rt and the given extra environment ("NAME=value"); nothing else of the
// test's environment leaks in but PATH and HOME. It is killed when the
// test ends.
func Run(t testing.TB, rt *Runtime, bin string, env ...string) *Process {
	t.Helper()
	p := &Process{logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=hookrelay-test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_REGION=eu-west-1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}, env...)
	// The test reads Logs; a failed test names the file with them.
	log := io.MultiWriter(p.logs, testlog.File(t, "bootstrap "+path.Base(bin)))
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.Started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		// The exit status is read through Exited/Logs; Wait only reaps.
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Kill)
	return p
}

// Kill stops the process and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	// Already exited between the check and the kill is fine.
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Exited waits for the process to exit by itself and returns its exit code.
func (p *Process) Exited(ctx context.Context) (int, bool) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), true
	case <-ctx.Done():
		return 0, false
	}
}

// Logs returns everything the process wrote so far.
func (p *Process) Logs() string { return p.logs.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
