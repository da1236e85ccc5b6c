package webhook

import (
	"testing"

	"github.com/hookrelay/hookrelay/infra/config"
)

// M1 (security review 2026-12): Shopify, GitHub and generic hmac deliveries
// took their idempotency key from an unsigned id header, so one captured
// delivery replayed under fresh ids published again every time, and a
// fresh type header re-typed it (orders/create became "cancelled"). The key
// is now the signed body: a replay under any id or type is a duplicate that
// returns the original events.
func TestUnsignedIDReplayIsDuplicate(t *testing.T) {
	shop := config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shopify-secret"}, Preset: "shopify"}
	acme := config.WebhookSource{Name: "acme", Provider: "hmac", Secrets: []string{"acme-secret"},
		HMAC: config.WebhookHMAC{Header: "X-Acme-Signature", Prefix: "sha256=", IDHeader: "X-Acme-Delivery"}, TypeHeader: "X-Acme-Event",
		Rules: []config.WebhookRule{{Events: []config.WebhookEventMapper{{Topic: "build:{{.Body.id}}"}}}}}
	f := newFixture(t, shop, githubSource(), acme)

	order := readTestdata(t, "shopify_order_create.json")
	push := readTestdata(t, "github_push.json")
	build := []byte(`{"id":"b1","status":"ok"}`)
	shopHdr := func(topic, id string) map[string]string {
		return map[string]string{"X-Shopify-Hmac-Sha256": SignShopify("shopify-secret", order), "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id}
	}
	acmeHdr := func(typ, id string) map[string]string {
		return map[string]string{"X-Acme-Signature": SignHMAC("acme-secret", "sha256", "hex", "sha256=", build), "X-Acme-Event": typ, "X-Acme-Delivery": id}
	}
	cases := []struct {
		name          string
		source        string
		body          []byte
		first, replay map[string]string
	}{
		{"shopify new id", "shop", order, shopHdr("orders/create", "wh-1"), shopHdr("orders/create", "wh-2")},
		{"shopify re-typed", "shop", order, shopHdr("orders/create", "wh-1"), shopHdr("orders/cancelled", "wh-3")},
		{"github new id", "gh", push, githubHeaders(push, "push", "d-1"), githubHeaders(push, "push", "d-2")},
		{"hmac new id and type", "acme", build, acmeHdr("build.finished", "a-1"), acmeHdr("build.failed", "a-2")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := f.post(t, tc.source, tc.body, tc.first)
			replay := f.post(t, tc.source, tc.body, tc.replay)
			if first.Status != 200 || replay.Status != 200 || len(first.Events) == 0 || len(replay.Events) != len(first.Events) {
				t.Fatalf("first %d %s; replay %d %s", first.Status, first.Raw, replay.Status, replay.Raw)
			}
			for i := range replay.Events {
				if !replay.Events[i].Duplicate || replay.Events[i].ID != first.Events[i].ID {
					t.Errorf("replay event %d = %+v; want a duplicate of %+v", i, replay.Events[i], first.Events[i])
				}
			}
			for _, topic := range topicsOf(first) {
				if n := len(f.history(t, topic)); n != 1 {
					t.Errorf("%s holds %d events; want 1", topic, n)
				}
			}
		})
	}
}
