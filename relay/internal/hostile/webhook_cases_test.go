package hostile

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/webhook"
)

// Webhook bodies.
const (
	shopifyOrder = `{"id":1042,"name":"#1042","total_price":"12.00","currency":"EUR","customer":{"id":7}}`
	stripeEvent  = `{"id":"evt_hostile_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":4999,"currency":"usd","customer":"cus_1","status":"succeeded"}}}`
	invoiceEvent = `{"type":"invoice.paid","data":{"id":"in_1"}}`
)

// shopifyReq is a correctly signed Shopify delivery of body: whatever is
// wrong with it is past the signature check.
func shopifyReq(t *testing.T, e *env, body []byte, contentType string) *http.Request {
	return newReq(t, e, http.MethodPost, "/hooks/shop", body,
		"Content-Type", contentType,
		"X-Shopify-Topic", "orders/create",
		"X-Shopify-Webhook-Id", "hostile-"+time.Now().Format(time.RFC3339Nano),
		"X-Shopify-Hmac-Sha256", webhook.SignShopify(shopifySecret, body))
}

func stripeReq(t *testing.T, e *env, body []byte, sig string) *http.Request {
	return newReq(t, e, http.MethodPost, "/hooks/stripe", body, "Content-Type", "application/json", "Stripe-Signature", sig)
}

func standardReq(t *testing.T, e *env, id, signedID string, body []byte) *http.Request {
	now := time.Now()
	return newReq(t, e, http.MethodPost, "/hooks/billing", body,
		"Content-Type", "application/json",
		"webhook-id", id,
		"webhook-timestamp", webhookTS(now),
		"webhook-signature", webhook.SignStandard(standardSecret, signedID, now, body))
}

func webhookTS(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func webhookCases() []badCase {
	return []badCase{
		{name: "webhook/unknown-source", status: 404, code: "not_found",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/nosuchsource", []byte(`{}`), "Content-Type", "application/json")
			},
			check: messageNotContains("nosuchsource")},
		{name: "webhook/path-traversal-encoded-slash", status: 404, code: "not_found",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/..%2f..%2fetc", []byte(`{}`), "Content-Type", "application/json")
			}},
		{name: "webhook/path-traversal-encoded-dots", status: 404, code: "not_found",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/%2e%2e%2f%2e%2e%2fetc%2fpasswd", []byte(`{}`), "Content-Type", "application/json")
			}},
		{name: "webhook/source-name-with-crlf", status: 404, code: "not_found",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/shop%0d%0aX-Injected:%201", []byte(`{}`), "Content-Type", "application/json")
			},
			check: noHeader("X-Injected")},
		{name: "webhook/oversized-body", status: 413, code: "too_large",
			req: func(t *testing.T, e *env) *http.Request {
				body := []byte(`{"id":1,"pad":"` + strings.Repeat("x", maxBodyBytes+1024) + `"}`)
				return shopifyReq(t, e, body, "application/json")
			}},
		{name: "webhook/truncated-json", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return shopifyReq(t, e, []byte(shopifyOrder[:len(shopifyOrder)/2]), "application/json")
			}},
		{name: "webhook/trailing-data", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return shopifyReq(t, e, []byte(shopifyOrder+`{"id":1}`), "application/json")
			}},
		{name: "webhook/wrong-content-type", status: 415, code: "unsupported_media_type",
			req: func(t *testing.T, e *env) *http.Request {
				return shopifyReq(t, e, []byte(shopifyOrder), "text/plain")
			}},
		{name: "webhook/invalid-utf8", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return shopifyReq(t, e, []byte(`{"id":1042,"name":"#10`+"\xff\xfe"+`42"}`), "application/json")
			}},
		{name: "webhook/deep-nesting-100k", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return shopifyReq(t, e, nested(100_000), "application/json")
			}},
		{name: "webhook/topic-injection-crlf-in-payload", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				body := []byte(`{"id":"1042\r\nX-Injected: 1","name":"#1042"}`)
				return shopifyReq(t, e, body, "application/json")
			},
			check: noHeader("X-Injected")},
		{name: "webhook/shopify-bad-base64-signature", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				r := shopifyReq(t, e, []byte(shopifyOrder), "application/json")
				r.Header.Set("X-Shopify-Hmac-Sha256", "!!!not base64!!!")
				return r
			}},
		{name: "webhook/shopify-signature-of-other-body", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				r := shopifyReq(t, e, []byte(shopifyOrder), "application/json")
				r.Header.Set("X-Shopify-Hmac-Sha256", webhook.SignShopify(shopifySecret, []byte(shopifyOrder+" ")))
				return r
			}},
		{name: "webhook/stripe-missing-signature", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/stripe", []byte(stripeEvent), "Content-Type", "application/json")
			}},
		{name: "webhook/stripe-replayed-stale-timestamp", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				// A valid signature captured 10 minutes ago (tolerance 5m).
				return stripeReq(t, e, []byte(stripeEvent), webhook.SignStripe(stripeSecret, time.Now().Add(-10*time.Minute), []byte(stripeEvent)))
			}},
		{name: "webhook/stripe-future-timestamp", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				return stripeReq(t, e, []byte(stripeEvent), webhook.SignStripe(stripeSecret, time.Now().Add(10*time.Minute), []byte(stripeEvent)))
			}},
		{name: "webhook/stripe-timestamp-swapped", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				// An old signature with a fresh t= pasted in front.
				old := webhook.SignStripe(stripeSecret, time.Now().Add(-10*time.Minute), []byte(stripeEvent))
				v1 := old[strings.Index(old, ",v1="):]
				return stripeReq(t, e, []byte(stripeEvent), "t="+webhookTS(time.Now())+v1)
			}},
		{name: "webhook/stripe-garbage-header", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				return stripeReq(t, e, []byte(stripeEvent), "t=,v1=,v1,,,=,t=99999999999999999999999")
			}},
		{name: "webhook/standard-wrong-id", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				// Signed for msg_1, sent as msg_2: a replay under a new id.
				return standardReq(t, e, "msg_2", "msg_1", []byte(invoiceEvent))
			}},
		{name: "webhook/standard-missing-signature", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				r := standardReq(t, e, "msg_3", "msg_3", []byte(invoiceEvent))
				r.Header.Del("webhook-signature")
				return r
			}},
		{name: "webhook/standard-stale-timestamp", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				old := time.Now().Add(-10 * time.Minute)
				body := []byte(invoiceEvent)
				return newReq(t, e, http.MethodPost, "/hooks/billing", body, "Content-Type", "application/json",
					"webhook-id", "msg_old", "webhook-timestamp", webhookTS(old),
					"webhook-signature", webhook.SignStandard(standardSecret, "msg_old", old, body))
			}},
		{name: "webhook/get-method", status: 405, code: "method_not_allowed",
			header: map[string]string{"Allow": "POST"},
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/hooks/shop", nil)
			}},
		{name: "webhook/bearer-wrong-token", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/control", []byte(`{"type":"control","n":-1}`),
					"Content-Type", "application/json", "Authorization", "Bearer "+controlSecret+"x")
			}},
		{name: "webhook/bearer-token-prefix", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/hooks/control", []byte(`{"type":"control","n":-1}`),
					"Content-Type", "application/json", "Authorization", "Bearer "+controlSecret[:len(controlSecret)-1])
			}},
	}
}
