package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// BenchmarkIngest is a verified delivery end to end through the in-process
// handler: read, signature check, decode, preset mapping to two topics
// (Shopify order -> order:<id> + customer:<id>, Stripe payment ->
// payment:<id> + customer:<id>), publish, answer. Every delivery has a new
// delivery id, so none is a duplicate. On the Redis bus "parallel" runs 16
// deliveries at once, whose publishes share round trips to Redis.
//
// Each delivery's body differs and is signed anew (one HMAC-SHA256, what
// the sender pays; BenchmarkIngestSignOnly measures that share): the
// Stripe delivery id is in the signed body, and Shopify's is a header
// outside the signature, so Shopify deliveries are deduplicated on the
// signed body's hash, and the same body under a new id is a duplicate.
func BenchmarkIngest(b *testing.B) {
	buses := map[string]func(testing.TB) bus.Bus{
		"memory": func(tb testing.TB) bus.Bus {
			m := memory.New(bus.Options{})
			tb.Cleanup(func() { m.Close() })
			return m
		},
		"redis": func(tb testing.TB) bus.Bus { return benchRedisBus(tb) },
	}
	for _, busName := range []string{"memory", "redis"} {
		for _, prov := range []string{"shopify", "stripe"} {
			b.Run(busName+"/"+prov+"/serial", func(b *testing.B) {
				d := newBenchDeliveries(b, prov, buses[busName](b))
				var n atomic.Int64
				b.ReportAllocs()
				for b.Loop() {
					d.serve(b, n.Add(1))
				}
				reportDeliveries(b)
			})
			if busName == "redis" {
				b.Run(busName+"/"+prov+"/parallel", func(b *testing.B) {
					d := newBenchDeliveries(b, prov, buses[busName](b))
					var n atomic.Int64
					b.ReportAllocs()
					b.SetParallelism(8) // 16 at once on 2 cores
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							d.serve(b, n.Add(1))
						}
					})
					reportDeliveries(b)
				})
			}
		}
	}
}

// BenchmarkIngestSignOnly is the Stripe sender's share of BenchmarkIngest:
// the new id and signature of each delivery.
func BenchmarkIngestSignOnly(b *testing.B) {
	body := readTestdata(b, "stripe_payment_intent_succeeded.json")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		signedStripe(body, int64(i))
	}
}

func reportDeliveries(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

func benchRedisBus(tb testing.TB) bus.Bus {
	srv := redistest.Start(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rb, err := redis.New(ctx, redis.Options{URL: srv.URL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("redis bus: %v", err)
	}
	tb.Cleanup(func() { _ = rb.Close() })
	return rb
}

const benchSecret = "whsec_bench"

// benchDeliveries sends deliveries of one provider to the in-process
// handler (with the real clock: Redis ids come from it too).
type benchDeliveries struct {
	h    http.Handler
	prov string
	body []byte
}

func newBenchDeliveries(tb testing.TB, prov string, b bus.Bus) *benchDeliveries {
	src := config.WebhookSource{Name: prov, Provider: prov, Secrets: []string{benchSecret}, Preset: prov}
	h, err := New(context.Background(), []config.WebhookSource{src}, b, Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	d := &benchDeliveries{h: h, prov: prov}
	if prov == "shopify" {
		d.body = readTestdata(tb, "shopify_order_create.json")
	} else {
		d.body = readTestdata(tb, "stripe_payment_intent_succeeded.json")
	}
	return d
}

// serve sends delivery n and checks the answer: 200, two new events.
func (d *benchDeliveries) serve(tb testing.TB, n int64) {
	var r *http.Request
	if d.prov == "shopify" {
		body := shopifyBody(d.body, n)
		r = httptest.NewRequest(http.MethodPost, "/hooks/shopify", bytes.NewReader(body))
		r.Header.Set("X-Shopify-Topic", "orders/create")
		r.Header.Set("X-Shopify-Webhook-Id", strconv.FormatInt(n, 10))
		r.Header.Set("X-Shopify-Hmac-Sha256", SignShopify(benchSecret, body))
	} else {
		body, sig := signedStripe(d.body, n)
		r = httptest.NewRequest(http.MethodPost, "/hooks/stripe", bytes.NewReader(body))
		r.Header.Set("Stripe-Signature", sig)
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	d.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || bytes.Count(w.Body.Bytes(), []byte(`"duplicate":false`)) != 2 {
		tb.Fatalf("delivery %d: %d %s", n, w.Code, w.Body)
	}
}

// shopifyBody gives the Shopify order body token n (same length as the
// original, so the body size does not change).
func shopifyBody(body []byte, n int64) []byte {
	return bytes.Replace(body, []byte(`"token": "123456abcd"`), fmt.Appendf(nil, `"token": "%010d"`, n%1e10), 1)
}

// signedStripe gives the Stripe body event id n (same length as the
// original, so the body size does not change) and signs it now.
func signedStripe(body []byte, n int64) ([]byte, string) {
	const orig = `"evt_3QkM2nLkdIwHu7ix0zZ6pX2a"`
	id := fmt.Sprintf(`"evt_%024d"`, n)
	out := bytes.Replace(body, []byte(orig), []byte(id), 1)
	return out, SignStripe(benchSecret, time.Now(), out)
}
