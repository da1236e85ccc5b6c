package hostile

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Addresses of TestWebhookFailureLimit.
const (
	forgerIP = "127.0.0.30" // sends deliveries with forged signatures
	senderIP = "127.0.0.31" // an honest sender with the right secret
)

// M4 of the 2026-12 review: /hooks had no limit, so loops of unsigned
// 1 MiB deliveries cost a body read and an HMAC each, as fast as they
// came. Refused deliveries now take a token of their address's bucket
// (webhook_failure_rate / _burst); once it is empty the address is
// answered 429 before its body is read, while an honest sender from
// another address is not limited at all.
func TestWebhookFailureLimit(t *testing.T) {
	const burst = 3
	e := startRelay(t, "HOOKRELAY_WEBHOOK_FAILURE_RATE=0.001", fmt.Sprintf("HOOKRELAY_WEBHOOK_FAILURE_BURST=%d", burst))
	forger, sender := httpClientFrom(forgerIP), httpClientFrom(senderIP)
	forged := func() *http.Request {
		return newReq(t, e, http.MethodPost, "/hooks/billing", []byte(invoiceEvent),
			"Content-Type", "application/json", "webhook-id", "forged", "webhook-timestamp", webhookTS(time.Now()),
			"webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	}
	for range burst {
		checkError(t, do(t, forger, forged()), http.StatusUnauthorized, "unauthorized")
	}
	a := do(t, forger, forged())
	checkError(t, a, http.StatusTooManyRequests, "rate_limited")
	if a.header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %s", a)
	}
	// Refused before the body is read: a request that announces 100000
	// body bytes and sends none is answered at once (reading the body
	// would wait until the request timeout).
	raw := fmt.Sprintf("POST /hooks/billing HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", e.addr)
	checkError(t, rawExchange(t, forgerIP, e.addr, []byte(raw)), http.StatusTooManyRequests, "rate_limited")
	// Another address with a valid signature is not limited by the
	// forger's failures, not even for the same source.
	for i := range burst + 2 {
		id := fmt.Sprintf("honest-%d", i)
		body := []byte(fmt.Sprintf(`{"type":"invoice.paid","data":{"id":"in_%d"}}`, i))
		if a := do(t, sender, standardReq(t, e, id, id, body)); a.status != http.StatusOK {
			t.Fatalf("honest delivery %d from %s: %s", i, senderIP, a)
		}
	}
	// The forger's address stays refused even with a valid signature:
	// nothing is read from an address over its budget (documented).
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_forger"}}`)
	checkError(t, do(t, forger, standardReq(t, e, "valid-from-forger", "valid-from-forger", body)), http.StatusTooManyRequests, "rate_limited")
}
