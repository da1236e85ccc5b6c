package app

import (
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/config"
)

func TestFitConnections(t *testing.T) {
	for _, tc := range []struct {
		max     int
		limit   uint64
		want    int
		lowered bool
	}{
		{100_000, 1 << 20, 100_000, false},
		{50_000, 65_536, 50_000, false},       // the Terraform module's numbers
		{100_000, 65_536, 65_536 - 512, true}, // the binary's default on that limit
		{65_024, 65_536, 65_024, false},       // exactly the headroom left
		{65_025, 65_536, 65_024, true},        // one more does not fit
		{100_000, 1024, 512, true},            // a common default soft limit
		{100_000, 600, 300, true},             // tiny: half for the rest
		{10, 600, 10, false},
		{300, 600, 300, false},                // tiny limit, but max is already within half
		{100_000, ^uint64(0), 100_000, false}, // unlimited
	} {
		got, lowered := fitConnections(tc.max, tc.limit)
		if got != tc.want || lowered != tc.lowered {
			t.Errorf("fitConnections(%d, %d) = %d, %v; want %d, %v", tc.max, tc.limit, got, lowered, tc.want, tc.lowered)
		}
	}
}

// TestFitFileLimit guards I7 of the 2026-12 review against this process's
// real RLIMIT_NOFILE: a max_connections it cannot hold is lowered with a
// warning naming the setting; one it holds is left alone.
func TestFitFileLimit(t *testing.T) {
	limit, ok := fileLimit()
	if !ok || limit > 1<<30 {
		t.Skipf("no finite open-file limit here (%d, %v)", limit, ok)
	}
	cfg := config.Defaults(config.ModeServe)
	cfg.MaxConnections = int(limit) + 1
	w := FitFileLimit(cfg)
	if cfg.MaxConnections >= int(limit) || !strings.Contains(strings.ToLower(w), "max_connections") || !strings.Contains(w, "RLIMIT_NOFILE") {
		t.Fatalf("limit %d: max_connections %d, warning %q", limit, cfg.MaxConnections, w)
	}
	fits := cfg.MaxConnections
	if w := FitFileLimit(cfg); w != "" || cfg.MaxConnections != fits {
		t.Fatalf("a fitting max_connections %d changed to %d (%q)", fits, cfg.MaxConnections, w)
	}
}
