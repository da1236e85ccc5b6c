package lambdaenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/config"
)

// Start is a Lambda's whole main: build the handler once per execution
// environment (config, secrets, the Redis connection: outside the
// per-invocation path), then serve invocations. A build error is reported
// to the Runtime API's init-error endpoint, so it shows in the function's
// logs and metrics as an init failure, and the process exits.
func Start(name string, build func(ctx context.Context, env Env) (any, error)) {
	ctx := context.Background()
	h, err := build(ctx, Env{Getenv: os.Getenv, Environ: os.Environ(), Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		if rerr := ReportInitError(ctx, os.Getenv, err); rerr != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, rerr)
		}
		os.Exit(1)
	}
	lambda.Start(h)
}

// Env is a Lambda process's outside world, passed in rather than read from
// the process so tests can build a handler in-process.
type Env struct {
	Getenv  func(string) string // reads settings
	Environ []string            // every variable, to warn about misspelled HOOKRELAY_* names
	Log     io.Writer           // where logs go (stderr: CloudWatch Logs)
}

// Setup loads a Lambda's configuration (ModeLambda: REDIS_URL required),
// its logger and its Redis bus. Every error names the setting at fault.
func Setup(ctx context.Context, name string, env Env) (*config.Config, *slog.Logger, *redis.Publisher, error) {
	cfg, err := config.Load(ctx, config.ModeLambda, nil, env.Getenv, config.WithProgramName(name), config.WithEnviron(env.Environ))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("config: %w", err)
	}
	log, err := Logger(cfg, env.Log)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w)
	}
	b, err := OpenBus(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, log, b, nil
}
