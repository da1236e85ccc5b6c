package main

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
)

// handlerFunc is what lambda.Start runs for every invocation.
type handlerFunc = func(ctx context.Context, event json.RawMessage) (any, error)

// newHandler loads the configuration (ModeLambda: REDIS_URL required) and
// connects the Redis bus. Every error names the setting at fault.
func newHandler(ctx context.Context, getenv func(string) string, logOut io.Writer) (handlerFunc, error) {
	cfg, log, b, err := lambdaenv.Setup(ctx, "publish", getenv, logOut)
	if err != nil {
		return nil, err
	}
	p := &publisher{bus: b, maxEventBytes: cfg.MaxEventBytes, log: log, now: time.Now}
	log.Info("publish ready")
	return p.handle, nil
}
