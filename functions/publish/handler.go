package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
	"github.com/hookrelay/hookrelay/infra/config"
)

// handlerFunc is what lambda.Start runs for every invocation.
type handlerFunc = func(ctx context.Context, event json.RawMessage) (any, error)

// newHandler loads the configuration (ModeLambda: REDIS_URL required) and
// connects the Redis bus. Every error names the setting at fault.
func newHandler(ctx context.Context, getenv func(string) string, logOut io.Writer) (handlerFunc, error) {
	cfg, err := config.Load(ctx, config.ModeLambda, nil, getenv, config.WithProgramName("publish"))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := lambdaenv.Logger(cfg, logOut)
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w)
	}
	b, err := lambdaenv.OpenBus(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	p := &publisher{bus: b, maxEventBytes: cfg.MaxEventBytes, log: log, now: time.Now}
	log.Info("publish ready")
	return p.handle, nil
}
