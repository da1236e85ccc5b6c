// Command publish is the Lambda for internal producers (the bootstrap of a
// provided.al2023 function): EventBridge events, SQS batches, SNS messages
// and direct invocations carrying a publish request
// {"topic","type","data","idempotency_key"} (or {"events":[...]}) are
// validated like POST /v1/publish and published to Redis. See
// docs/lambda.md.
package main

import (
	"context"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
)

func main() {
	// Built once per execution environment, outside the per-invocation
	// handler: config and the Redis connection.
	lambdaenv.Start("publish", func(ctx context.Context, env lambdaenv.Env) (any, error) {
		return newHandler(ctx, env)
	})
}
