package chaos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoProcess is returned by FindPID when no process matches.
var ErrNoProcess = errors.New("no such process")

// FindPID returns the pid of the process whose environment holds the exact
// entry env (e.g. "HOOKRELAY_ADDR=127.0.0.1:40123"): relaytest does not
// expose its children's pids, and a relay's address is unique. Processes
// of other users (unreadable environ) are skipped.
func FindPID(env string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, fmt.Errorf("list /proc: %w", err)
	}
	want := []byte(env)
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue // gone, or not ours
		}
		for _, kv := range bytes.Split(raw, []byte{0}) {
			if bytes.Equal(kv, want) {
				return strconv.Atoi(filepath.Base(d))
			}
		}
	}
	return 0, fmt.Errorf("process with %s: %w", env, ErrNoProcess)
}

// RSS returns the resident set size of pid in bytes, from
// /proc/<pid>/status.
func RSS(pid int) (int64, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	n, err := ParseVmRSS(raw)
	if err != nil {
		return 0, fmt.Errorf("status of %d: %w", pid, err)
	}
	return n, nil
}

// ParseVmRSS extracts VmRSS from the text of /proc/<pid>/status
// ("VmRSS:	   12345 kB") in bytes.
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want \"<n> kB\"", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("VmRSS value %q: not a size", f[0])
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line")
}

// MetricValue returns the value of the sample named name without labels
// (e.g. go_goroutines) from a Prometheus text exposition.
func MetricValue(text []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || rest[0] != ' ' {
			continue // another metric, or this one with labels
		}
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 { // value [timestamp]
			return 0, fmt.Errorf("metric line %q: want name value [timestamp]", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s value %q: %w", name, f[0], err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, fmt.Errorf("metric %s: not found", name)
}
