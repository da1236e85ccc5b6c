package webhook

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/config"
)

type wantEvent struct {
	topic, typ, title, body, url string
}

func TestPresets(t *testing.T) {
	cases := []struct {
		name   string
		src    config.WebhookSource
		file   string
		hdr    func(secret string, body []byte) map[string]string
		events []wantEvent
	}{
		{
			name: "shopify order", file: "shopify_order_create.json",
			src: config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_1"}, Preset: "shopify"},
			hdr: shopifyHeaders("orders/create"),
			events: []wantEvent{
				{"order:820982911946154508", "order.created", "Order #9999 received", "403.00 USD",
					"https://jsmith.myshopify.com/548380009/orders/123456abcd/authenticate?key=abcdefg"},
				{"customer:115310627314723954", "order.created", "Order #9999 received", "403.00 USD",
					"https://jsmith.myshopify.com/548380009/orders/123456abcd/authenticate?key=abcdefg"},
			},
		},
		{
			name: "shopify order fulfilled", file: "shopify_order_create.json",
			src: config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_1"}, Preset: "shopify"},
			hdr: shopifyHeaders("orders/fulfilled"),
			events: []wantEvent{
				{topic: "order:820982911946154508", typ: "order.shipped", title: "Order #9999 shipped"},
				{topic: "customer:115310627314723954", typ: "order.shipped", title: "Order #9999 shipped"},
			},
		},
		{
			name: "shopify out for delivery", file: "shopify_fulfillment_update.json",
			src: config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_1"}, Preset: "shopify"},
			hdr: shopifyHeaders("fulfillments/update"),
			events: []wantEvent{{"order:820982911946154508", "order.out_for_delivery", "Your order is out for delivery", "UPS 1Z2345",
				"https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z2345"}},
		},
		{
			name: "shopify fulfillment created", file: "shopify_fulfillment_update.json",
			src: config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_1"}, Preset: "shopify"},
			hdr: shopifyHeaders("fulfillments/create"),
			// shipment_status is set in the sample, so the specific rule wins.
			events: []wantEvent{{topic: "order:820982911946154508", typ: "order.out_for_delivery"}},
		},
		{
			name: "shopify delivered event", file: "shopify_fulfillment_event.json",
			src:    config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"shpss_1"}, Preset: "shopify"},
			hdr:    shopifyHeaders("fulfillment_events/create"),
			events: []wantEvent{{"order:820982911946154508", "order.delivered", "Your order is delivered", "Delivered, left at front door", ""}},
		},
		{
			name: "stripe", file: "stripe_payment_intent_succeeded.json",
			src: config.WebhookSource{Name: "stripe", Provider: "stripe", Secrets: []string{"whsec_1"}, Preset: "stripe"},
			hdr: func(s string, b []byte) map[string]string {
				return map[string]string{"Stripe-Signature": SignStripe(s, testNow, b)}
			},
			events: []wantEvent{
				{"customer:cus_R3wq8dF0rK2ZqT", "payment_intent.succeeded", "Payment succeeded", "49.99 USD · Order #9999",
					"https://dashboard.stripe.com/test/payments/pi_3QkM2nLkdIwHu7ix0Ykh1e7Q"},
				{"payment:pi_3QkM2nLkdIwHu7ix0Ykh1e7Q", "payment_intent.succeeded", "Payment succeeded", "49.99 USD · Order #9999",
					"https://dashboard.stripe.com/test/payments/pi_3QkM2nLkdIwHu7ix0Ykh1e7Q"},
			},
		},
		{
			name: "github push", file: "github_push.json",
			src: config.WebhookSource{Name: "gh", Provider: "github", Secrets: []string{"gh1"}, Preset: "github"},
			hdr: func(s string, b []byte) map[string]string {
				return map[string]string{"X-Hub-Signature-256": SignGitHub(s, b), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}
			},
			events: []wantEvent{{"repo:Codertocat:hello-world.go", "push", "Codertocat pushed to main", "Fix the greeting",
				"https://github.com/Codertocat/hello-world.go/compare/6113728f27ae...000000000000"}},
		},
		{
			name: "alertmanager", file: "alertmanager.json",
			src: config.WebhookSource{Name: "am", Provider: "basic", Secrets: []string{"am:pw"}, Preset: "alertmanager",
				AlertLabels: []string{"team", "service"}},
			hdr: basicHeaders,
			events: []wantEvent{
				{"alerts:payments-oncall", "alert.firing", "[FIRING] HighErrorRate", "checkout 5xx rate above 5% for 10m",
					"http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_errors%3Arate5m+%3E+0.05"},
				{topic: "alerts:payments-oncall", typ: "alert.resolved", title: "[RESOLVED] HighErrorRate"},
				{topic: "alerts:payments", typ: "alert.firing"},
				{topic: "alerts:payments", typ: "alert.resolved"},
				{topic: "alerts:checkout", typ: "alert.firing"},
				{topic: "alerts:refunds", typ: "alert.resolved"},
			},
		},
		{
			name: "grafana", file: "grafana.json",
			src: config.WebhookSource{Name: "grafana", Provider: "bearer", Secrets: []string{"gf-token"}, Preset: "grafana"},
			hdr: func(s string, _ []byte) map[string]string {
				return map[string]string{"Authorization": "Bearer " + s}
			},
			events: []wantEvent{
				{"alerts:My-Super-Webhook", "alert.firing", "[FIRING] High memory usage", "This alert was triggered for zone us-1",
					"http://grafana.example.com/alerting/1afz29v7z/edit"},
				{"alerts:My-Super-Webhook", "alert.resolved", "[RESOLVED] High CPU usage", "This alert was triggered for zone eu-1",
					"http://grafana.example.com/d/dashboard_uid?orgId=1&viewPanel=1"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.src)
			body := readTestdata(t, c.file)
			a := f.post(t, c.src.Name, body, c.hdr(c.src.Secrets[0], body))
			if a.Status != 200 || len(a.Events) != len(c.events) {
				t.Fatalf("status %d, %d events, want %d: %s", a.Status, len(a.Events), len(c.events), a.Raw)
			}
			seen := map[string]int{}
			for i, w := range c.events {
				if a.Events[i].Topic != w.topic {
					t.Errorf("event %d topic %q, want %q", i, a.Events[i].Topic, w.topic)
					continue
				}
				hist := f.history(t, w.topic)
				e := hist[seen[w.topic]]
				seen[w.topic]++
				checkEvent(t, i, e, c.src.Name, w)
			}
		})
	}
}

func checkEvent(t *testing.T, i int, e map[string]any, source string, w wantEvent) {
	t.Helper()
	data, _ := e["data"].(map[string]any)
	if e["type"] != w.typ || e["source"] != source {
		t.Errorf("event %d: type %v source %v, want %s %s", i, e["type"], e["source"], w.typ, source)
	}
	for k, v := range map[string]string{"title": w.title, "body": w.body, "url": w.url} {
		if v != "" && data[k] != v {
			t.Errorf("event %d data.%s = %q, want %q", i, k, data[k], v)
		}
	}
}

func shopifyHeaders(topic string) func(string, []byte) map[string]string {
	return func(s string, b []byte) map[string]string {
		return map[string]string{"X-Shopify-Hmac-Sha256": SignShopify(s, b), "X-Shopify-Topic": topic,
			"X-Shopify-Webhook-Id": "wh-" + topic, "X-Shopify-Shop-Domain": "jsmith.myshopify.com"}
	}
}

func basicHeaders(s string, _ []byte) map[string]string {
	r := newRequestWithBasic(s)
	return map[string]string{"Authorization": r}
}

// TestPresetData pins the data of an alert event: clients parse it.
func TestPresetData(t *testing.T) {
	src := config.WebhookSource{Name: "am", Provider: "bearer", Secrets: []string{"t"}, Preset: "alertmanager"}
	f := newFixture(t, src)
	body := readTestdata(t, "alertmanager.json")
	if a := f.post(t, "am", body, map[string]string{"Authorization": "Bearer t"}); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	got := f.history(t, "alerts:payments-oncall")[0]["data"]
	want := map[string]any{
		"status":      "firing",
		"labels":      map[string]any{"alertname": "HighErrorRate", "team": "payments", "severity": "page", "service": "checkout", "instance": "checkout-7d9f:8080"},
		"annotations": map[string]any{"summary": "checkout 5xx rate above 5% for 10m", "description": "Error rate is 7.3%"},
		"startsAt":    "2026-11-23T09:01:30.123Z",
		"endsAt":      "0001-01-01T00:00:00Z",
		"fingerprint": "c4f7d2b1a8e36f05",
		"receiver":    "payments-oncall",
		"title":       "[FIRING] HighErrorRate",
		"body":        "checkout 5xx rate above 5% for 10m",
		"url":         "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_errors%3Arate5m+%3E+0.05",
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("data:\n%s", g)
	}
	// Shopify ids keep every digit (no float64 rounding), and reach
	// clients as strings: JavaScript's JSON.parse would round a number.
	src = config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"s"}, Preset: "shopify"}
	f = newFixture(t, src)
	body = readTestdata(t, "shopify_order_create.json")
	f.post(t, "shop", body, shopifyHeaders("orders/create")("s", body))
	page, err := f.bus.History(context.Background(), "order:820982911946154508", "", 1)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("history: %v", err)
	}
	if raw := string(page.Events[0].JSON); !strings.Contains(raw, `"order_id":"820982911946154508",`) {
		t.Errorf("order id lost digits: %s", raw)
	}
}

func TestPresetsMore(t *testing.T) {
	gh := config.WebhookSource{Name: "gh", Provider: "github", Secrets: []string{"g"}, Preset: "github"}
	st := config.WebhookSource{Name: "st", Provider: "stripe", Secrets: []string{"whsec_s"}, Preset: "stripe"}
	f := newFixture(t, gh, st)
	ghPost := func(event, body string) answer {
		return f.post(t, "gh", []byte(body), map[string]string{"X-Hub-Signature-256": SignGitHub("g", []byte(body)), "X-GitHub-Event": event, "X-GitHub-Delivery": event})
	}
	a := ghPost("pull_request", `{"action":"opened","number":7,"pull_request":{"number":7,"title":"Add retries","state":"open","merged":false,"html_url":"https://github.com/acme/web/pull/7","user":{"login":"ann"}},"repository":{"full_name":"acme/web"}}`)
	if a.Status != 200 || a.Events[0].Topic != "repo:acme:web" {
		t.Fatalf("pull_request: %d %s", a.Status, a.Raw)
	}
	checkEvent(t, 0, f.history(t, "repo:acme:web")[0], "gh", wantEvent{typ: "pull_request.opened", title: "PR #7 opened: Add retries", body: "ann", url: "https://github.com/acme/web/pull/7"})
	a = ghPost("workflow_run", `{"action":"completed","workflow_run":{"name":"CI","status":"completed","conclusion":"failure","head_branch":"main","display_title":"Add retries","run_number":12,"html_url":"https://github.com/acme/web/actions/runs/1"},"repository":{"full_name":"acme/web"}}`)
	if a.Status != 200 {
		t.Fatalf("workflow_run: %d %s", a.Status, a.Raw)
	}
	checkEvent(t, 0, f.history(t, "repo:acme:web")[1], "gh", wantEvent{typ: "workflow_run.completed", title: "CI failure", body: "main · Add retries", url: "https://github.com/acme/web/actions/runs/1"})

	// A charge shares the payment topic of its intent; an expanded customer
	// object works like an id; JPY has no minor unit.
	body := `{"id":"evt_c","type":"charge.refunded","livemode":true,"data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_9","amount":500,"currency":"jpy","customer":{"id":"cus_9","object":"customer"}}}}`
	a = f.post(t, "st", []byte(body), map[string]string{"Stripe-Signature": SignStripe("whsec_s", testNow, []byte(body))})
	if got := strings.Join(topicsOf(a), " "); a.Status != 200 || got != "customer:cus_9 payment:pi_9" {
		t.Fatalf("charge: %d %s", a.Status, a.Raw)
	}
	checkEvent(t, 0, f.history(t, "payment:pi_9")[0], "st", wantEvent{typ: "charge.refunded", title: "Payment refunded", body: "500 JPY", url: "https://dashboard.stripe.com/payments/pi_9"})
	// Other Stripe events are ignored by the preset.
	body = `{"id":"evt_d","type":"customer.created","data":{"object":{"id":"cus_1"}}}`
	if a = f.post(t, "st", []byte(body), map[string]string{"Stripe-Signature": SignStripe("whsec_s", testNow, []byte(body))}); a.Status != 202 {
		t.Fatalf("customer.created: %d %s", a.Status, a.Raw)
	}
}
