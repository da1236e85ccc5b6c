// Command relaybench is the load generator behind `make bench`
// (docs/performance.md): it starts relay processes and a redis-server,
// opens subscribers from several load processes, publishes and reports.
// It is its own binary so the production relay links no load tooling;
// `relay bench` runs it when it sits beside the relay or on PATH.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookrelay/hookrelay/relay/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := bench.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
