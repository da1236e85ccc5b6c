// Command testsum turns `go test -json` into output a person can follow
// while a long run goes on: one line per package as it finishes, the
// output of each failed test (and build errors, panics, timeouts) right
// under its package, a note of what is still running when nothing has
// finished for a while, and at the end
//
//	slowest: relay/internal/chaos 212.4s, relay/web 101.0s, ...
//	packages: 30 passed, 0 failed
//
// It exits 1 when any package failed, did not build, or started and never
// finished (the stream ended early), and when it saw no package at all.
// make test pipes go test through it (.ci/test.sh); it is a test tool, not
// part of hookrelay.
//
//	go test -json ./... 2>&1 | go run ./.ci/testsum -trim github.com/hookrelay/hookrelay/
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	trim := flag.String("trim", "", "import path prefix to leave out of package names")
	quiet := flag.Duration("running-every", time.Minute, "after this long without a finished package, say what is still running")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, *trim, *quiet))
}

// run reads the stream from in until EOF and reports to out; it returns the
// exit code.
func run(in io.Reader, out io.Writer, trim string, quiet time.Duration) int {
	s := newSummary(out, trim)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		// A test may print a long line (a JSON blob, a stack); keep it whole.
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		if err := sc.Err(); err != nil {
			lines <- fmt.Sprintf("testsum: reading go test output: %v", err)
		}
	}()
	tick := time.NewTicker(quiet / 4)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return s.finish()
			}
			s.line(line)
		case now := <-tick.C:
			s.idle(now, quiet)
		}
	}
}
