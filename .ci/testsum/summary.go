package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), build events
// included.
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64 // seconds
	ImportPath  string  // build-output, build-fail
	FailedBuild string  // on a package's fail: the import path that did not build
}

// pkg is what is known of one package so far.
type pkg struct {
	name    string
	started time.Time
	done    bool
	lines   []line   // output in arrival order
	failed  []string // tests that failed, in order
	elapsed float64
}

type line struct{ test, text string }

// summary is the state of one run.
type summary struct {
	out         io.Writer
	trim        string
	pkgs        map[string]*pkg
	order       []string            // packages in order of first sight
	builds      map[string][]string // build output per import path
	passed      []*pkg
	failed      []*pkg
	lastFinish  time.Time
	lastRunning time.Time
}

func newSummary(out io.Writer, trim string) *summary {
	now := time.Now()
	return &summary{out: out, trim: trim, pkgs: make(map[string]*pkg), builds: make(map[string][]string), lastFinish: now, lastRunning: now}
}

func (s *summary) printf(format string, args ...any) {
	// A failed write to the terminal or pipe leaves nothing to report it to.
	_, _ = fmt.Fprintf(s.out, format, args...)
}

func (s *summary) pkg(name string) *pkg {
	p := s.pkgs[name]
	if p == nil {
		p = &pkg{name: strings.TrimPrefix(name, s.trim), started: time.Now()}
		s.pkgs[name] = p
		s.order = append(s.order, name)
	}
	return p
}

// line handles one line of input: an event, or anything else go test
// printed (passed through as it is).
func (s *summary) line(text string) {
	var ev event
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &ev) != nil || ev.Action == "" {
		s.printf("%s\n", text)
		return
	}
	switch ev.Action {
	case "build-output":
		s.builds[ev.ImportPath] = append(s.builds[ev.ImportPath], ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Package == "" {
		return
	}
	p := s.pkg(ev.Package)
	switch {
	case ev.Action == "output":
		p.lines = append(p.lines, line{ev.Test, ev.Output})
	case ev.Action == "fail" && ev.Test != "":
		p.failed = append(p.failed, ev.Test)
	case ev.Test != "":
		// run, pass, skip, pause, cont of a test: the output says enough.
	case ev.Action == "start":
		p.started = time.Now()
	case ev.Action == "pass":
		s.finished(p, ev, true)
	case ev.Action == "fail":
		s.finished(p, ev, false)
	case ev.Action == "skip":
		p.done = true // no test files
	}
}

func (s *summary) finished(p *pkg, ev event, ok bool) {
	p.done, p.elapsed = true, ev.Elapsed
	s.lastFinish = time.Now()
	if ok {
		p.lines = nil // a passed package's output is not shown
		s.passed = append(s.passed, p)
		s.printf("ok    %-40s %7.1fs\n", p.name, p.elapsed)
		return
	}
	s.failed = append(s.failed, p)
	if ev.FailedBuild != "" {
		s.printf("FAIL  %-40s build failed\n", p.name)
		s.printf("%s", indent(strings.Join(s.builds[ev.FailedBuild], "")))
		return
	}
	s.printf("FAIL  %-40s %7.1fs\n", p.name, p.elapsed)
	s.printf("%s", indent(p.failure()))
}

// failure is what a failed package printed that says why: the output of
// each failed test under a header naming it (go test puts the "--- FAIL"
// line after the output; here it comes first), then whatever the package
// printed outside any test (a panic outside a test, a timeout, TestMain).
func (p *pkg) failure() string {
	var b strings.Builder
	for _, name := range p.failed {
		var own strings.Builder
		for _, l := range p.lines {
			if l.test == name && !framing(l.text) {
				own.WriteString(l.text)
			}
		}
		// A parent that failed only because a subtest did has nothing
		// to add under its own header.
		if own.Len() > 0 || !slices.ContainsFunc(p.failed, func(sub string) bool { return strings.HasPrefix(sub, name+"/") }) {
			b.WriteString("--- FAIL: " + name + "\n" + own.String())
		}
	}
	for _, l := range p.lines {
		if l.test == "" && !framing(l.text) && !strings.HasPrefix(l.text, "FAIL\t") && !strings.HasPrefix(l.text, "ok  \t") {
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// framing is a line go test prints around a test's own output.
func framing(text string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(text, p) {
			return true
		}
	}
	t := strings.TrimSpace(text)
	return t == "PASS" || t == "FAIL"
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "      " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n      ") + "\n"
}

// idle says what is still running when no package finished for quiet.
func (s *summary) idle(now time.Time, quiet time.Duration) {
	if now.Sub(s.lastFinish) < quiet || now.Sub(s.lastRunning) < quiet {
		return
	}
	s.lastRunning = now
	var running []string
	for _, name := range s.order {
		if p := s.pkgs[name]; !p.done {
			running = append(running, fmt.Sprintf("%s (%s)", p.name, now.Sub(p.started).Round(time.Second)))
		}
	}
	if len(running) == 0 {
		s.printf("..    compiling (packages finished so far: %d)\n", len(s.passed)+len(s.failed))
		return
	}
	s.printf("..    running: %s\n", strings.Join(running, ", "))
}

// finish prints the summary and returns the exit code.
func (s *summary) finish() int {
	for _, name := range s.order {
		if p := s.pkgs[name]; !p.done {
			s.failed = append(s.failed, p)
			s.printf("FAIL  %-40s no result: the test binary's output ended before it finished\n", p.name)
			s.printf("%s", indent(p.failure()+tail(p.lines, 20)))
		}
	}
	all := append(slices.Clone(s.passed), s.failed...)
	slices.SortStableFunc(all, func(a, b *pkg) int { return cmp.Compare(b.elapsed, a.elapsed) })
	var slow []string
	for _, p := range all[:min(5, len(all))] {
		slow = append(slow, fmt.Sprintf("%s %.1fs", p.name, p.elapsed))
	}
	if len(s.failed) > 0 {
		var names []string
		for _, p := range s.failed {
			names = append(names, p.name)
		}
		s.printf("failed: %s\n", strings.Join(names, ", "))
	}
	s.printf("slowest: %s\n", strings.Join(slow, ", "))
	s.printf("packages: %d passed, %d failed\n", len(s.passed), len(s.failed))
	if len(s.failed) > 0 || len(s.passed) == 0 {
		return 1
	}
	return 0
}

// tail is the last n lines a package printed (for one that never ended).
func tail(lines []line, n int) string {
	var b strings.Builder
	for _, l := range lines[max(0, len(lines)-n):] {
		b.WriteString(l.text)
	}
	return b.String()
}
