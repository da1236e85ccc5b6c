// Command publish is the Lambda for internal producers (the bootstrap of a
// provided.al2023 function): EventBridge events, SQS batches, SNS messages
// and direct invocations carrying a publish request
// {"topic","type","data","idempotency_key"} (or {"events":[...]}) are
// validated like POST /v1/publish and published to Redis. See
// docs/lambda.md.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
)

func main() {
	ctx := context.Background()
	// Built once per execution environment, outside the per-invocation
	// handler: config and the Redis connection.
	h, err := newHandler(ctx, os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "publish: %v\n", err)
		if rerr := lambdaenv.ReportInitError(ctx, os.Getenv, err); rerr != nil {
			fmt.Fprintf(os.Stderr, "publish: %v\n", rerr)
		}
		os.Exit(1)
	}
	lambda.Start(h)
}
