package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runBench is `relay bench ...`: the load generator is its own binary
// (relay/bench/cmd/relaybench, built by `make bench`), so the production
// relay links none of it. This finds relaybench beside the relay or on
// PATH and runs it with this relay as the relay under load.
func runBench(ctx context.Context, args []string, e env) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(e.stderr, "relay bench: find this program: %v\n", err)
		return 1
	}
	tool := filepath.Join(filepath.Dir(self), "relaybench")
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("relaybench"); err != nil {
			fmt.Fprintf(e.stderr, "relay bench: the load generator is its own binary and none is beside %s or on PATH:\n"+
				"  go build -o %s ./relay/bench/cmd/relaybench   (make bench builds build/bench/relaybench)\n",
				self, filepath.Join(filepath.Dir(self), "relaybench"))
			return 1
		}
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(strings.TrimLeft(a, "-"), "relay-bin") }) {
		// The flag goes after a subcommand (`relay bench publish ...`).
		at := 0
		if len(args) > 0 && args[0] == "publish" {
			at = 1
		}
		args = slices.Insert(args, at, "--relay-bin", self)
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	// A stop signal reaches the tool as SIGTERM, so it stops its relays and
	// load processes and still prints what it measured.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintf(e.stderr, "relay bench: run %s: %v\n", tool, err)
	return 1
}
