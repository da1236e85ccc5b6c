package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// BenchmarkShopifyOrderLog is BenchmarkShopifyOrder with the delivery log
// off, on, and on with bodies (a Writer into the memory store): what the
// log adds to the answer path is building the entry and queueing it.
func BenchmarkShopifyOrderLog(b *testing.B) {
	for _, c := range []struct {
		name   string
		log    bool
		bodies bool
	}{{"off", false, false}, {"on", true, false}, {"bodies", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			bb := memory.New(bus.Options{})
			defer bb.Close()
			opts := Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if c.log {
				w := deliverylog.NewWriter(deliverylog.NewMemory(deliverylog.Limits{}), deliverylog.WriterOptions{Bodies: c.bodies})
				defer w.Close(context.Background())
				opts.Observer = w
			}
			h, err := New(context.Background(), []config.WebhookSource{{Name: "shop", Provider: "shopify", Secrets: []string{"s"}, Preset: "shopify"}}, bb, opts)
			if err != nil {
				b.Fatal(err)
			}
			body := readTestdata(b, "shopify_order_create.json")
			sig := SignShopify("s", body)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r := httptest.NewRequest(http.MethodPost, "/hooks/shop", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Shopify-Topic", "orders/create")
				r.Header.Set("X-Shopify-Webhook-Id", strconv.Itoa(i))
				r.Header.Set("X-Shopify-Hmac-Sha256", sig)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
