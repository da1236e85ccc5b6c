package main

import (
	"context"
	"strings"
	"testing"
)

// TestBenchNeedsTheTool: the relay links no load generator; without
// relaybench beside it or on PATH, `relay bench` says how to build it.
func TestBenchNeedsTheTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out strings.Builder
	if code := run(context.Background(), []string{"bench", "--conns", "1"}, env{stdout: &out, stderr: &out}); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "go build -o") || !strings.Contains(out.String(), "relay/bench/cmd/relaybench") {
		t.Errorf("no build hint: %s", out.String())
	}
}
