package devmode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/api"
)

// demoTokenTTL is long for a demo token: the pages fetch one per load and
// a demo left open over lunch should not stop on 4001.
const demoTokenTTL = 24 * time.Hour

// demoGrants returns the demo pages' grants (relay/web/static/*.html):
// subscribe to orders, alerts, chat rooms and the user's own topic; publish
// to chat rooms.
func demoGrants() (subscribe, publish []string) {
	return []string{"order:*", "alerts:*", "room:*", "user:{sub}"}, []string{"room:*"}
}

// demo serves the dev-only endpoints of relay/web/static/demo.js.
type demo struct {
	key      string // HS256 signing key, "" without one
	audience string
	hooks    http.Handler
	log      *slog.Logger
}

// NewDemo returns the /demo/ handler: GET /demo/token and POST
// /demo/simulate.
func NewDemo(cfg *config.Config, key string, hooks http.Handler, log *slog.Logger) http.Handler {
	d := &demo{key: key, audience: cfg.TokenAudience, hooks: hooks, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.DemoTokenPath, d.token)
	mux.HandleFunc("POST "+api.DemoSimulatePath, d.simulate)
	mux.HandleFunc("/demo/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, api.Errorf(api.CodeNotFound, http.StatusNotFound, "no demo route %s %s", r.Method, r.URL.Path))
	})
	return localOnly(mux)
}

// localOnly admits a demo request only from a loopback peer that named a
// loopback host, with no foreign Origin: a DNS-rebinding page (Host is its
// own name) or a remote caller (dev bound to a public address) gets 403,
// and so does a cross-site form posting to /demo/simulate (M5, I10 of the
// 2026-12 review).
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackPeer(r) || !loopbackHost(r.Host) {
			api.WriteError(w, api.Errorf(api.CodeForbidden, http.StatusForbidden, "the demo routes answer only http://localhost or 127.0.0.1 on this machine"))
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host != r.Host {
				api.WriteError(w, api.Errorf(api.CodeForbidden, http.StatusForbidden, "origin %q is not this relay", o))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name: localhost, 127.0.0.1 or [::1], with any port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// token serves GET /demo/token?sub=NAME -> {"token": "..." | null}. The
// demo's display name (presence) is the subject itself.
func (d *demo) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	if d.key == "" {
		// No token key: the relay lets anyone on loopback subscribe.
		fmt.Fprintln(w, `{"token":null}`)
		return
	}
	sub := r.URL.Query().Get("sub")
	if sub == "" {
		sub = "demo"
	}
	subscribe, publish := demoGrants()
	tok, err := auth.Mint(d.key, auth.MintClaims{
		Subject: sub, Name: sub, Topics: subscribe, Publish: publish,
		TTL: demoTokenTTL, Audience: d.audience,
	})
	if err != nil {
		w.Header().Del("Content-Type")
		api.WriteError(w, api.Errorf(api.CodeBadRequest, http.StatusBadRequest, "sub: %v", err))
		return
	}
	b, err := json.Marshal(map[string]string{"token": tok})
	if err != nil {
		api.WriteError(w, err)
		return
	}
	// The status is out; a failed write means the page went away.
	_, _ = w.Write(append(b, '\n'))
}

// simulate serves POST /demo/simulate {"kind": ...}: it builds a realistic
// provider delivery, signs it with the dev secret and hands it to the
// in-process webhook handler, so the demo runs the real pipeline (verify,
// map, publish, fan out). The webhook handler's answer is passed through.
func (d *demo) simulate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Kind string `json:"kind"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
		api.WriteError(w, api.Errorf(api.CodeBadRequest, http.StatusBadRequest, "want {\"kind\": ...}: %v", err))
		return
	}
	del, err := sampleDelivery(body.Kind, time.Now())
	if err != nil {
		api.WriteError(w, api.Errorf(api.CodeBadRequest, http.StatusBadRequest, "kind: %v", err))
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, api.HooksPrefix+del.source, bytes.NewReader(del.body))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	req.SetPathValue("source", del.source)
	req.RemoteAddr = r.RemoteAddr
	for k, v := range del.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	d.hooks.ServeHTTP(rec, req)
	d.log.Info("demo webhook simulated", "kind", body.Kind, "source", del.source, "status", rec.Code)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	// The status is out; a failed write means the page went away.
	_, _ = w.Write(rec.Body.Bytes())
}

// Dev webhook sources, used when the configuration has none. The secrets
// are public on purpose: tests and the docs sign with them.
const (
	ShopifySecret         = "dev-shopify-secret"
	AlertmanagerToken     = "dev-alertmanager-token"
	devShopifySource      = "shopify"
	devAlertmanagerSource = "alertmanager"
)

// Sources are relay dev's webhook sources when the config has none:
// Shopify (HMAC) and Alertmanager (bearer), with the presets.
func Sources() []config.WebhookSource {
	return []config.WebhookSource{
		{Name: devShopifySource, Provider: "shopify", Secrets: []string{ShopifySecret}, Preset: "shopify"},
		{Name: devAlertmanagerSource, Provider: "bearer", Secrets: []string{AlertmanagerToken}, Preset: "alertmanager"},
	}
}

// delivery is one signed sample webhook.
type delivery struct {
	source  string
	headers map[string]string
	body    []byte
}

// sampleDelivery builds the delivery for a demo kind.
func sampleDelivery(kind string, now time.Time) (delivery, error) {
	switch kind {
	case "order.shipped":
		return shopifyFulfillment("fulfillments/create", "confirmed", now), nil
	case "order.out_for_delivery":
		return shopifyFulfillment("fulfillments/update", "out_for_delivery", now), nil
	case "order.delivered":
		return shopifyFulfillment("fulfillments/update", "delivered", now), nil
	case "alert.firing":
		return alertmanagerAlert("firing", now), nil
	case "alert.resolved":
		return alertmanagerAlert("resolved", now), nil
	}
	return delivery{}, fmt.Errorf("%q is not one of order.shipped, order.out_for_delivery, order.delivered, alert.firing, alert.resolved", kind)
}

// demoOrder is the order the demo pages track.
const demoOrder = 1042

// shopifyFulfillment is a Shopify fulfillments/* webhook for order 1042,
// shaped like Shopify's (trimmed to the fields the preset maps), signed
// with the dev secret.
func shopifyFulfillment(topic, shipmentStatus string, now time.Time) delivery {
	ts := now.UTC().Format(time.RFC3339)
	tracking := "1Z999AA10123456784"
	body := map[string]any{
		"id":                   5512345678901,
		"order_id":             demoOrder,
		"admin_graphql_api_id": "gid://shopify/Fulfillment/5512345678901",
		"name":                 "#1042.1",
		"status":               "success",
		"service":              "manual",
		"created_at":           ts,
		"updated_at":           ts,
		"shipment_status":      shipmentStatus,
		"tracking_company":     "UPS",
		"tracking_number":      tracking,
		"tracking_numbers":     []string{tracking},
		"tracking_url":         "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=" + tracking,
		"tracking_urls":        []string{"https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=" + tracking},
		"destination":          map[string]any{"city": "Portland", "province_code": "OR", "country_code": "US", "zip": "97205"},
		"line_items":           []map[string]any{{"id": 866550311766439020, "title": "Aeropress coffee maker", "quantity": 1, "sku": "AERO-01", "price": "39.95"}},
	}
	raw := mustJSON(body)
	return delivery{
		source: devShopifySource,
		body:   raw,
		headers: map[string]string{
			"Content-Type":           "application/json",
			"X-Shopify-Topic":        topic,
			"X-Shopify-Shop-Domain":  "hookrelay-demo.myshopify.com",
			"X-Shopify-API-Version":  "2025-01",
			"X-Shopify-Webhook-Id":   fmt.Sprintf("b54557e4-bdd9-4b37-8a5f-%012d", now.UnixNano()%1e12),
			"X-Shopify-Triggered-At": ts,
			"X-Shopify-Hmac-Sha256":  webhook.SignShopify(ShopifySecret, raw),
		},
	}
}

// alertmanagerAlert is an Alertmanager webhook (version 4) for receiver
// "oncall" with one alert, authorised with the dev bearer token.
func alertmanagerAlert(status string, now time.Time) delivery {
	labels := map[string]string{"alertname": "HighErrorRate", "service": "checkout", "severity": "critical", "env": "prod"}
	annotations := map[string]string{
		"summary":     "Checkout error rate above 5% for 5 minutes",
		"description": "5xx responses of the checkout service are at 7.3% (threshold 5%).",
		"runbook_url": "https://runbooks.example.com/checkout/high-error-rate",
	}
	startsAt := now.Add(-5 * time.Minute).UTC().Truncate(time.Minute)
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = now.UTC().Format(time.RFC3339Nano)
	}
	alert := map[string]any{
		"status":       status,
		"labels":       labels,
		"annotations":  annotations,
		"startsAt":     startsAt.Format(time.RFC3339Nano),
		"endsAt":       endsAt,
		"generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_errors%3Aratio5m+%3E+0.05",
		"fingerprint":  "c4f1a2b3d4e5f601",
	}
	body := map[string]any{
		"version":           "4",
		"groupKey":          `{}/{severity="critical"}:{alertname="HighErrorRate"}`,
		"truncatedAlerts":   0,
		"status":            status,
		"receiver":          "oncall",
		"groupLabels":       map[string]string{"alertname": "HighErrorRate"},
		"commonLabels":      labels,
		"commonAnnotations": annotations,
		"externalURL":       "http://alertmanager.example.com:9093",
		"alerts":            []any{alert},
		// Alertmanager repeats notifications unchanged; the demo stamps
		// each one so every click is a new delivery, not a deduplicated one.
		"sentAt": now.UTC().Format(time.RFC3339Nano),
	}
	return delivery{
		source: devAlertmanagerSource,
		body:   mustJSON(body),
		headers: map[string]string{
			"Content-Type":  "application/json",
			"User-Agent":    "Alertmanager/0.28.1",
			"Authorization": "Bearer " + AlertmanagerToken,
		},
	}
}

// mustJSON encodes values built above from maps of strings and numbers,
// which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode demo payload: %v", err))
	}
	return b
}
