package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookrelay/hookrelay/functions/internal/lambdaenv"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/webhook"
)

const benchStripeSecret = "whsec_bench"

// BenchmarkHandler is one verified delivery through the ingest Lambda's
// handler as lambda.Start calls it: an HTTP API (payload 2.0) event in,
// signature check, preset mapping to two topics (Shopify order ->
// order:<id> + customer:<id>; Stripe payment -> payment:<id> +
// customer:<id>), publish on a real Redis, the response event out. Each
// delivery has a new id. The event is built in the loop (for Stripe the
// id is in the signed body, so it is also signed there); the build/*
// sub-benchmarks measure that share, which is the sender's and API
// Gateway's, not the handler's.
func BenchmarkHandler(b *testing.B) {
	srv := redistest.Start(b)
	cfg := filepath.Join(b.TempDir(), "hookrelay.yaml")
	yaml := "sources:\n" +
		"  - {name: shop, provider: shopify, secrets: [\"env:SHOP_SECRET\"], preset: shopify}\n" +
		"  - {name: stripe, provider: stripe, secrets: [\"env:STRIPE_SECRET\"], preset: stripe}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"REDIS_URL": srv.URL(), "HOOKRELAY_CONFIG": cfg,
		"SHOP_SECRET": shopSecret, "STRIPE_SECRET": benchStripeSecret, "HOOKRELAY_LOG_LEVEL": "error"}
	ctx := context.Background()
	h, err := newHandler(ctx, lambdaenv.Env{Getenv: func(k string) string { return env[k] }, Log: io.Discard})
	if err != nil {
		b.Fatalf("newHandler: %v", err)
	}
	for _, prov := range []string{"shopify", "stripe"} {
		ev := newBenchEvents(b, prov)
		b.Run("build/"+prov, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ev.event(b, int64(i))
			}
		})
		b.Run(prov, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				out, err := h(ctx, ev.event(b, int64(i)))
				if err != nil || !bytes.Contains(out, []byte(`"statusCode":200`)) || bytes.Count(out, []byte(`\"duplicate\":false`)) != 2 {
					b.Fatalf("delivery %d: %s, %v", i, out, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// benchEvents builds HTTP API v2 events of one provider's sample delivery.
type benchEvents struct {
	prov string
	body []byte
	run  int64 // keeps ids of different runs apart (b.Loop starts again at 0)
}

func newBenchEvents(tb testing.TB, prov string) *benchEvents {
	name := "shopify_order_create.json"
	if prov == "stripe" {
		name = "stripe_payment_intent_succeeded.json"
	}
	body, err := os.ReadFile(filepath.Join("..", "..", "infra", "webhook", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	e := &benchEvents{prov: prov, body: body, run: time.Now().UnixNano()}
	return e
}

func (e *benchEvents) event(tb testing.TB, n int64) json.RawMessage {
	id := strconv.FormatInt(e.run, 36) + "-" + strconv.FormatInt(n, 10)
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /hooks/{source}",
		Headers: map[string]string{"content-type": "application/json", "host": "hooks.example.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", SourceIP: "203.0.113.9"},
		},
	}
	if e.prov == "shopify" {
		req.RawPath = "/hooks/shop"
		req.Headers["x-shopify-topic"] = "orders/create"
		req.Headers["x-shopify-webhook-id"] = id
		// Shopify's id header is outside the signature, so deliveries are
		// deduplicated on the signed body: each needs a body of its own.
		body := bytes.Replace(e.body, []byte(`"token": "123456abcd"`), []byte(`"token": "`+id+`"`), 1)
		req.Headers["x-shopify-hmac-sha256"] = webhook.SignShopify(shopSecret, body)
		req.Body = string(body)
	} else {
		req.RawPath = "/hooks/stripe"
		body := bytes.Replace(e.body, []byte(`"evt_3QkM2nLkdIwHu7ix0zZ6pX2a"`), []byte(fmt.Sprintf(`"evt_%s"`, id)), 1)
		req.Headers["stripe-signature"] = webhook.SignStripe(benchStripeSecret, time.Now(), body)
		req.Body = string(body)
	}
	req.RequestContext.HTTP.Path = req.RawPath
	out, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
