// Command relay is hookrelay's server binary:
//
//	relay dev      everything in one process on 127.0.0.1 (memory bus unless REDIS_URL)
//	relay serve    production relay behind a load balancer (Redis and a token key required)
//	relay token    mint a subscriber/publisher token with HOOKRELAY_TOKEN_KEY
//	relay bench    run the load generator (relaybench, its own binary)
//	relay version  print the build's version
//
// Every setting is a flag, a HOOKRELAY_* variable and a config file key
// (docs/configuration.md). main only parses and dispatches: relay/app
// wires the server, relay/devmode adds relay dev's demo, and the packages
// do the work.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookrelay/hookrelay/relay/app"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ(),
	}))
}

// env is the process's outside world, passed down instead of read from
// globals so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string // every variable, to warn about misspelled HOOKRELAY_* names
}

const usage = `usage: relay <command> [flags]

commands:
  dev      run everything in one process: relay, webhooks, demo pages (memory bus unless REDIS_URL)
  serve    run a production relay (requires REDIS_URL and HOOKRELAY_TOKEN_KEY)
  token    mint a token: relay token --sub S --topics a,b [--publish c] [--ttl 15m]
  bench    load-test relays (relay bench -h)
  version  print the version

"relay <command> -h" lists the command's flags. Settings: docs/configuration.md.
`

// run dispatches a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev", "serve":
		sctx, force, stop := drainSignals(ctx)
		defer stop()
		return runServer(sctx, cmd, rest, e, force)
	case "token":
		return runToken(ctx, rest, e)
	case "bench":
		sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return runBench(sctx, rest, e)
	case "version", "--version", "-version":
		fmt.Fprintln(e.stdout, "relay", app.Version())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	fmt.Fprintf(e.stderr, "relay: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// drainSignals turns the first SIGTERM (ECS, Kubernetes) or SIGINT
// (Ctrl-C) into the cancellation of the returned context, which starts the
// drain, and a second one into closing force, which cuts the drain short.
func drainSignals(ctx context.Context) (context.Context, <-chan struct{}, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ctx, cancel := context.WithCancel(ctx)
	force, done := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(force)
		case <-done:
		}
	}()
	return ctx, force, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
