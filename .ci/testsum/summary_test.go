package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// The testdata streams are real `go test -json -count=1` output of a small
// module: okp passes, failp has a failing subtest, panicp panics, buildp
// does not compile, notest has no test files.

func runFile(t *testing.T, name string, cut func(string) string) (string, int) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	in := string(b)
	if cut != nil {
		in = cut(in)
	}
	var out bytes.Buffer
	code := run(strings.NewReader(in), &out, "example.com/m/", time.Hour)
	return out.String(), code
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestPass: a clean run ends with the count line alone and exits 0.
func TestPass(t *testing.T) {
	out, code := runFile(t, "pass.json", nil)
	if code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, out)
	}
	if got := lastLine(out); got != "packages: 1 passed, 0 failed" {
		t.Errorf("last line %q\n%s", got, out)
	}
	if !strings.Contains(out, "ok    okp ") || !strings.Contains(out, "slowest: okp ") {
		t.Errorf("no progress or slowest line for okp:\n%s", out)
	}
	if strings.Contains(out, "fine") {
		t.Errorf("a passing test's log was printed:\n%s", out)
	}
}

// TestFailures: build failures, failed tests and panics each fail the run,
// and each failed package's reason is printed under it.
func TestFailures(t *testing.T) {
	out, code := runFile(t, "mixed.json", nil)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := lastLine(out); got != "packages: 1 passed, 3 failed" {
		t.Errorf("last line %q\n%s", got, out)
	}
	for _, want := range []string{
		"FAIL  buildp ", "undefined: undefined",
		"FAIL  failp ", "--- FAIL: TestBad/sub_bad\n", "want 1, got 2",
		"FAIL  panicp ", "panic: assignment to entry in nil map",
		"failed: buildp, failp, panicp\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The failure header leads; the test's lines follow it.
	if h, r := strings.Index(out, "--- FAIL: TestBad/sub_bad"), strings.Index(out, "want 1, got 2"); h > r {
		t.Errorf("reason printed before the failing test's name:\n%s", out)
	}
	if strings.Contains(out, "--- FAIL: TestBad\n") {
		t.Errorf("the parent of a failed subtest got an empty header:\n%s", out)
	}
	if strings.Contains(out, "notest") {
		t.Errorf("a package without tests was counted:\n%s", out)
	}
}

// TestCutShort: a package that started but never finished (the stream
// ended: go test was killed) fails the run.
func TestCutShort(t *testing.T) {
	out, code := runFile(t, "mixed.json", func(s string) string {
		i := strings.Index(s, `"Action":"pass","Package":"example.com/m/okp","Elapsed"`)
		return s[:strings.LastIndex(s[:i], "\n")+1]
	})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "FAIL  okp ") || !strings.Contains(out, "no result") {
		t.Errorf("unfinished okp not reported:\n%s", out)
	}
}

// TestNothing: no package at all is a failure (go test never ran).
func TestNothing(t *testing.T) {
	var out bytes.Buffer
	if code := run(strings.NewReader("go: cannot find main module\n"), &out, "", time.Hour); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(out.String(), "go: cannot find main module\n") {
		t.Errorf("plain line not passed through:\n%s", out.String())
	}
	if got := lastLine(out.String()); got != "packages: 0 passed, 0 failed" {
		t.Errorf("last line %q", got)
	}
}

// TestIdle: after a quiet spell the still-running packages are named, once
// per spell.
func TestIdle(t *testing.T) {
	var out bytes.Buffer
	s := newSummary(&out, "m/")
	s.line(`{"Action":"start","Package":"m/slow"}`)
	now := time.Now()
	s.idle(now.Add(30*time.Second), time.Minute)
	if out.Len() != 0 {
		t.Fatalf("idle before the quiet spell: %q", out.String())
	}
	s.idle(now.Add(61*time.Second), time.Minute)
	if !strings.Contains(out.String(), "running: slow (1m") {
		t.Errorf("idle note %q", out.String())
	}
	out.Reset()
	s.idle(now.Add(62*time.Second), time.Minute)
	if out.Len() != 0 {
		t.Errorf("second note within one spell: %q", out.String())
	}
}
