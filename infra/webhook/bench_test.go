package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hookrelay/hookrelay/infra/config"
)

// BenchmarkShopifyOrder is one delivery end to end: read, verify, decode,
// map with the shopify preset (2 events), publish on the memory bus.
func BenchmarkShopifyOrder(b *testing.B) {
	f := newFixture(b, config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"s"}, Preset: "shopify"})
	body := readTestdata(b, "shopify_order_create.json")
	sig := SignShopify("s", body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		r := httptest.NewRequest(http.MethodPost, "/hooks/shop", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Shopify-Topic", "orders/create")
		r.Header.Set("X-Shopify-Webhook-Id", strconv.Itoa(i))
		r.Header.Set("X-Shopify-Hmac-Sha256", sig)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkRejectBadSignature is the cost an unauthenticated caller can
// impose per request: read and one HMAC, nothing else.
func BenchmarkRejectBadSignature(b *testing.B) {
	f := newFixture(b, config.WebhookSource{Name: "stripe", Provider: "stripe", Secrets: []string{"whsec_a"}, Preset: "stripe"})
	body := readTestdata(b, "stripe_payment_intent_succeeded.json")
	sig := SignStripe("whsec_b", testNow, body)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/hooks/stripe", bytes.NewReader(body))
		r.Header.Set("Stripe-Signature", sig)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != 401 {
			b.Fatalf("%d", w.Code)
		}
	}
}
