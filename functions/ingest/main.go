// Command ingest is the webhook Lambda (the bootstrap of a provided.al2023
// function): POST /hooks/{source} behind an API Gateway HTTP API, a
// Function URL, an ALB target group or a REST API, verified and mapped by
// infra/webhook and published to Redis. See docs/lambda.md.
package main

import (
	"context"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
)

func main() {
	// Built once per execution environment, outside the per-invocation
	// handler: config, secrets, the Redis connection and compiled rules.
	lambdaenv.Start("ingest", func(ctx context.Context, env lambdaenv.Env) (any, error) {
		return newHandler(ctx, env)
	})
}
