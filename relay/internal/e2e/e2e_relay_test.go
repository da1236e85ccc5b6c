package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// The relay side of the e2e tests: real `relay dev` processes on a real
// redis-server (dev mode serves the demo pages and their /demo/ endpoints;
// with a token key the pages get real subscriber tokens, so read cursors
// have a subject), signed webhooks and a steady feed of published events.

// Dev webhook sources of `relay dev` (relay/devmode/demo.go); the tests sign with
// them the way Shopify would.
const (
	devShopifySecret = "dev-shopify-secret"
	orderTopic       = "order:1042"
)

// startRedis starts a redis-server for the test.
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	return redistest.Start(t)
}

// startDev starts `relay dev` on redisURL with a token key.
func startDev(t *testing.T, redisURL string) *relaytest.Relay {
	t.Helper()
	return relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: redisURL, TokenKey: relaytest.TokenKey})
}

// shopifyFulfillment is a Shopify fulfillments/* delivery for order 1042 as
// Shopify sends it (the fields of the 2025-01 API that matter here).
func shopifyFulfillment(t *testing.T, shipmentStatus string, now time.Time) []byte {
	t.Helper()
	ts := now.UTC().Format(time.RFC3339)
	tracking := "1Z999AA10123456784"
	body, err := json.Marshal(map[string]any{
		"id":                   4903321256001,
		"order_id":             1042,
		"admin_graphql_api_id": "gid://shopify/Fulfillment/4903321256001",
		"name":                 "#1042.1",
		"status":               "success",
		"service":              "manual",
		"location_id":          905684977,
		"created_at":           ts,
		"updated_at":           ts,
		"shipment_status":      shipmentStatus,
		"tracking_company":     "UPS",
		"tracking_number":      tracking,
		"tracking_numbers":     []string{tracking},
		"tracking_url":         "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=" + tracking,
		"tracking_urls":        []string{"https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=" + tracking},
		"notify_customer":      true,
		"destination": map[string]any{
			"first_name": "Ada", "last_name": "Lovelace", "address1": "1200 SW Park Ave",
			"city": "Portland", "province_code": "OR", "country_code": "US", "zip": "97205",
		},
		"line_items": []map[string]any{{
			"id": 866550311766439020, "variant_id": 808950810, "title": "Aeropress coffee maker",
			"quantity": 1, "sku": "AERO-01", "price": "39.95", "fulfillment_status": "fulfilled",
		}},
	})
	if err != nil {
		t.Fatalf("encode fulfillment: %v", err)
	}
	return body
}

// postShopify posts a signed Shopify webhook to /hooks/shopify and fails
// the test unless the relay accepts it.
func postShopify(t *testing.T, baseURL, shopifyTopic, webhookID string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/hooks/shopify", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", shopifyTopic)
	req.Header.Set("X-Shopify-Shop-Domain", "hookrelay-demo.myshopify.com")
	req.Header.Set("X-Shopify-API-Version", "2025-01")
	req.Header.Set("X-Shopify-Webhook-Id", webhookID)
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.SignShopify(devShopifySecret, body))
	hc := http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body) // only for the failure message
	if resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d: %s", resp.StatusCode, answer)
	}
}

// note is the i-th event of a feed: type order.note, title "note i".
func note(i int) client.Message {
	return client.Message{
		Topic:          orderTopic,
		Type:           "order.note",
		Data:           json.RawMessage(fmt.Sprintf(`{"title":"note %d","body":"feed event %d","seq":%d}`, i, i, i)),
		IdempotencyKey: fmt.Sprintf("e2e-note-%d", i),
	}
}

// feed publishes note 0, 1, 2, … on order:1042 every interval until Stop,
// like a backend that keeps publishing while relays come and go. A failed
// publish is retried with the same idempotency key, so every note is
// published exactly once and in order.
type feed struct {
	pub  *client.Publisher
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	n    int
	errs []error
}

func startFeed(pub *client.Publisher, every time.Duration) *feed {
	f := &feed{pub: pub, stop: make(chan struct{}), done: make(chan struct{})}
	go f.loop(every)
	return f
}

func (f *feed) loop(every time.Duration) {
	defer close(f.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := f.pub.Publish(ctx, note(i))
		cancel()
		f.mu.Lock()
		if err != nil {
			f.errs = append(f.errs, err)
		} else {
			i++
			f.n = i
		}
		f.mu.Unlock()
	}
}

// published is how many notes have been published so far.
func (f *feed) published() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// Stop ends the feed and returns how many notes it published; publish
// errors are logged (they are retried, so they lose nothing).
func (f *feed) Stop(t *testing.T) int {
	t.Helper()
	close(f.stop)
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, err := range f.errs {
		t.Logf("feed: publish retried after: %v", err)
	}
	return f.n
}
