// Package testlog gives the child processes a test starts (redis-server,
// relays, Lambda bootstraps) a log file instead of the test's output, so a
// failure reads with its reason first and the process's chatter stays out
// of the way. The file outlives the test only when the test failed; its
// path is then logged.
//
// Files go to $HOOKRELAY_TEST_LOGS (make test sets build/test-logs) or,
// unset, to hookrelay-test-logs under the system temp dir.
package testlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DirEnv names the directory log files are written to.
const DirEnv = "HOOKRELAY_TEST_LOGS"

// Dir is where log files go.
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "hookrelay-test-logs")
}

// File creates a log file for a child process the test calls name
// ("redis-server", "relay 127.0.0.1:4000"). At cleanup it is closed, and
// removed if the test passed; if the test failed, its path is logged. Call
// it before starting the process, so the process's own cleanup (a kill)
// runs first and its last words are in the file.
func File(t testing.TB, name string) *os.File {
	t.Helper()
	dir := Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("log dir for %s: %v", name, err)
	}
	f, err := os.CreateTemp(dir, safe(t.Name()+"-"+name)+"-*.log")
	if err != nil {
		t.Fatalf("log file for %s: %v", name, err)
	}
	t.Cleanup(func() {
		// A close error only means the last lines may be missing.
		_ = f.Close()
		if t.Failed() {
			t.Logf("%s log: %s", name, f.Name())
			return
		}
		// Best effort: a leftover log in a temp dir is harmless.
		_ = os.Remove(f.Name())
	})
	return f
}

// safe keeps a file name to letters, digits, '-', '_' and '.'.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
