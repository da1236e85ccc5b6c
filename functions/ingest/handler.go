package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
	"github.com/hookrelay/hookrelay/functions/internal/lambdahttp"
	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/webhook"
)

// handlerFunc is what lambda.Start runs for every invocation.
type handlerFunc = func(ctx context.Context, event json.RawMessage) (json.RawMessage, error)

// newHandler loads the configuration (ModeLambda: REDIS_URL required,
// sources from HOOKRELAY_CONFIG), connects the Redis bus and compiles the
// webhook sources. Every error names the setting at fault.
func newHandler(ctx context.Context, env lambdaenv.Env) (handlerFunc, error) {
	cfg, log, b, err := lambdaenv.Setup(ctx, "ingest", env)
	if err != nil {
		return nil, err
	}
	// The delivery log shares the bus's Redis connections. Entries queued
	// when the execution environment freezes are written when it thaws.
	dlog, err := cfg.DeliveryLogWriter(deliverylog.NewRedisAppender(b.Client(), b.Prefix(), cfg.DeliveryLogLimits()),
		env.Getenv("AWS_LAMBDA_FUNCTION_NAME"), log)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%s: %w", cfg.Key("delivery_log_redact"), err)
	}
	opts := webhook.Options{
		Resolve:      cfg.Secrets().Resolve,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       log,
		Via:          deliverylog.ViaLambda,
	}
	if dlog != nil {
		opts.Observer = dlog // a nil *Writer in the interface would not be nil
	}
	hooks, err := webhook.New(ctx, cfg.Sources, b, opts)
	if err != nil {
		// The bus connection dies with the process; nothing else holds it.
		b.Close()
		return nil, fmt.Errorf("webhook sources: %w", err)
	}
	log.Info("ingest ready", "sources", hooks.Sources())
	return lambdahttp.Handler(hooksOnly(hooks), lambdahttp.Options{Logger: log}), nil
}

// hooksOnly serves /hooks/{source} wherever the route puts it: an HTTP API
// stage or a REST API base path may precede it ("/prod/hooks/shopify").
func hooksOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := strings.Index(r.URL.Path, "/hooks/")
		if i < 0 {
			apierr.Write(w, apierr.NotFound("use POST /hooks/{source}"))
			return
		}
		if i > 0 {
			r.URL.Path = r.URL.Path[i:]
			r.URL.RawPath = ""
		}
		h.ServeHTTP(w, r)
	})
}
