package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/logging"
	"github.com/hookrelay/hookrelay/infra/secrets/awsdefault"
	"github.com/hookrelay/hookrelay/relay/app"
	"github.com/hookrelay/hookrelay/relay/devmode"
)

// runServer is `relay dev` and `relay serve`.
func runServer(ctx context.Context, cmd string, args []string, e env, force <-chan struct{}) int {
	mode := config.ModeServe
	if cmd == "dev" {
		mode = config.ModeDev
	}
	cfg, err := config.Load(ctx, mode, args, e.getenv, config.WithOutput(e.stderr), config.WithEnviron(e.environ), config.WithProgramName("relay "+cmd),
		// The SDK's default credential chain and clients for aws-sm:// and
		// aws-ssm:// references and ElastiCache IAM auth.
		config.WithResolverOptions(awsdefault.ResolverOptions()...))
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w)
	}
	if w := app.FitFileLimit(cfg); w != "" {
		if mode == config.ModeDev {
			// A laptop's open-file limit is no deploy problem, and a new
			// user's first `make run` should not open with a warning.
			log.Info("config", "note", w)
		} else {
			log.Warn("config", "warning", w)
		}
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		fmt.Fprintf(e.stderr, "relay %s: %v\n", cmd, err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		fmt.Fprintf(e.stderr, "relay %s: %s: listen on %s: %v\n", cmd, cfg.Key("addr"), cfg.Addr, err)
		return 1
	}
	log.Info("relay listening", "mode", cmd, "addr", ln.Addr().String(), "bus", a.BusKind(),
		"version", app.Version(), "max_connections", cfg.MaxConnections)
	if mode == config.ModeDev {
		devmode.PrintBanner(e.stdout, a.Banner(), ln.Addr())
	}
	if err := a.Run(ctx, ln, force); err != nil {
		log.Error("relay stopped", "err", err)
		return 1
	}
	return 0
}
