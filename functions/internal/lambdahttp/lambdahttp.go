// Package lambdahttp runs an http.Handler behind AWS Lambda's HTTP event
// sources: API Gateway HTTP API (payload format 2.0), Lambda Function URLs,
// Application Load Balancer target groups and API Gateway REST APIs
// (payload format 1.0). It decodes the event into an *http.Request whose
// body is the exact bytes the client sent (webhook signatures are verified
// over them), serves it, and encodes the answer in the shape the event
// source expects.
//
// It replaces github.com/awslabs/aws-lambda-go-api-proxy, which is not a
// dependency of this module (and modules are not added for this).
package lambdahttp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookrelay/hookrelay/infra/apierr"
)

// Shape is the kind of HTTP event a Lambda received.
type Shape int

// The event shapes, told apart by their requestContext: "http" for payload
// 2.0 (HTTP API and Function URL), "elb" for an ALB target, else REST v1.
const (
	ShapeUnknown     Shape = iota
	ShapeHTTPAPI           // API Gateway HTTP API, payload format 2.0
	ShapeFunctionURL       // Lambda Function URL (payload 2.0 without a stage)
	ShapeALB               // Application Load Balancer target group
	ShapeREST              // API Gateway REST API, payload format 1.0
)

func (s Shape) String() string {
	switch s {
	case ShapeHTTPAPI:
		return "apigw-http-v2"
	case ShapeFunctionURL:
		return "function-url"
	case ShapeALB:
		return "alb"
	case ShapeREST:
		return "apigw-rest-v1"
	}
	return "unknown"
}

// Options configure Handler. Zero values mean the defaults.
type Options struct {
	// Logger receives events that could not be decoded. Default
	// slog.Default().
	Logger *slog.Logger
}

// Handler returns a Lambda handler serving every HTTP event with h. An
// event of a known shape that cannot be turned into a request (bad base64
// body) is answered 400 in that shape; anything else that is not an HTTP
// event is an invocation error.
func Handler(h http.Handler, o Options) func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		req, err := DecodeEvent(ctx, event)
		if err != nil {
			if req == nil {
				return nil, err
			}
			log.WarnContext(ctx, "lambdahttp: bad event", "shape", req.Shape.String(), "err", err)
			e := apierr.BadRequest("malformed event")
			h := http.Header{}
			e.Header(h)
			return req.Encode(e.Status, h, e.JSON())
		}
		w := newRecorder()
		h.ServeHTTP(w, req.HTTP)
		out, err := req.Encode(w.status(), w.header, w.body.Bytes())
		if err != nil {
			return nil, fmt.Errorf("encode %s response: %w", req.Shape, err)
		}
		return out, nil
	}
}
