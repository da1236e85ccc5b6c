package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/devmode"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestMeasureDeliveryLogCost (HOOKRELAY_MEASURE=1; HOOKRELAY_MEASURE_RATE,
// default 500/s, for 15 s) posts signed Shopify webhooks at a steady rate
// to relay dev on Redis with the delivery log off, on, and on with bodies,
// and logs the answer latency percentiles of each.
func TestMeasureDeliveryLogCost(t *testing.T) {
	if os.Getenv("HOOKRELAY_MEASURE") != "1" {
		t.Skip("set HOOKRELAY_MEASURE=1 to measure")
	}
	rate := 500
	if v, err := strconv.Atoi(os.Getenv("HOOKRELAY_MEASURE_RATE")); err == nil && v > 0 {
		rate = v
	}
	for _, c := range []struct{ name, env string }{
		{"log off", "HOOKRELAY_DELIVERY_LOG=false"},
		{"log on, no bodies", "HOOKRELAY_DELIVERY_LOG_BODIES=false"},
		{"log on, bodies", "HOOKRELAY_DELIVERY_LOG_BODIES=true"},
	} {
		srv := redistest.Start(t)
		r := relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: srv.URL(), Env: []string{c.env, "HOOKRELAY_LOG_LEVEL=warn"}})
		lat, errs := steadyWebhooks(t, r.URL, rate, 15*time.Second, c.name)
		slices.Sort(lat)
		p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
		t.Logf("%-18s %d/s for 15s: %d answered, %d errors, p50 %v p90 %v p99 %v max %v", c.name, rate, len(lat), errs,
			p(0.5).Round(time.Microsecond), p(0.9).Round(time.Microsecond), p(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
		r.Kill(t)
		srv.Kill()
	}
}

// steadyWebhooks sends rate signed deliveries a second (open loop: each
// on its own schedule, not after the previous answer).
func steadyWebhooks(t *testing.T, base string, rate int, d time.Duration, tag string) ([]time.Duration, int) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	n := rate * int(d/time.Second)
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := 0
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval))) // pacing the load, not waiting for a condition
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte(fmt.Sprintf(`{"id":%d,"order_id":1042,"status":"success","shipment_status":"in_transit","tracking_company":"UPS"}`, i))
			req, _ := http.NewRequest(http.MethodPost, base+"/hooks/shopify", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Shopify-Topic", "fulfillments/update")
			req.Header.Set("X-Shopify-Webhook-Id", tag+"-"+strconv.Itoa(i))
			req.Header.Set("X-Shopify-Hmac-Sha256", webhook.SignShopify(devmode.ShopifySecret, body))
			t0 := time.Now()
			res, err := hc.Do(req)
			lat[i] = time.Since(t0)
			if err != nil || res.StatusCode != 200 {
				mu.Lock()
				errs++
				mu.Unlock()
			}
			if err == nil {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	return lat, errs
}
