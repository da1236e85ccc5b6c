package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
)

// handlerFunc is what lambda.Start runs for every invocation.
type handlerFunc = func(ctx context.Context, event json.RawMessage) (any, error)

// newHandler loads the configuration (ModeLambda: REDIS_URL required) and
// connects the Redis bus. Every error names the setting at fault.
func newHandler(ctx context.Context, env lambdaenv.Env) (handlerFunc, error) {
	cfg, log, b, err := lambdaenv.Setup(ctx, "publish", env)
	if err != nil {
		return nil, err
	}
	p := &publisher{bus: b, maxEventBytes: cfg.MaxEventBytes, log: log, now: time.Now}
	log.Info("publish ready")
	return p.handle, nil
}
