// Command ingest is the webhook Lambda (the bootstrap of a provided.al2023
// function): POST /hooks/{source} behind an API Gateway HTTP API, a
// Function URL, an ALB target group or a REST API, verified and mapped by
// functions/webhook and published to Redis. See docs/lambda.md.
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
	// handler: config, secrets, the Redis connection and compiled rules.
	h, err := newHandler(ctx, os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %v\n", err)
		if rerr := lambdaenv.ReportInitError(ctx, os.Getenv, err); rerr != nil {
			fmt.Fprintf(os.Stderr, "ingest: %v\n", rerr)
		}
		os.Exit(1)
	}
	lambda.Start(h)
}
