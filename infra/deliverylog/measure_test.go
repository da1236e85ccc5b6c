package deliverylog

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestMeasureRedisMemory (HOOKRELAY_MEASURE=1) logs Redis used_memory per
// 10,000 logged deliveries: a typical published Shopify delivery without
// its body, and with a 1 KiB body kept.
func TestMeasureRedisMemory(t *testing.T) {
	if os.Getenv("HOOKRELAY_MEASURE") != "1" {
		t.Skip("set HOOKRELAY_MEASURE=1 to measure")
	}
	for _, withBody := range []bool{false, true} {
		srv := redistest.Start(t)
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		r := NewRedis(c, "hr", Limits{Count: 10_000, Bytes: 1 << 30})
		before := usedMemory(t, c)
		body := `{"id":5512345678901,"order_id":1042,"status":"success","shipment_status":"in_transit","tracking_company":"UPS","tracking_number":"1Z999AA10123456784","pad":"` + strings.Repeat("x", 800) + `"}`
		now := time.Now()
		var batch []Entry
		for i := range 10_000 {
			e := Entry{ID: newID(now) + strconv.Itoa(i), Time: now, Source: "shopify", Provider: "shopify",
				DeliveryID: fmt.Sprintf("b54557e4-bdd9-4b37-8a5f-%012d", i), Type: "fulfillments/update",
				Verification: VerificationOK, Status: 200, Outcome: Published, LatencyMicros: 850, Via: ViaRelay, Node: "ip-10-0-1-23-a1b2c3",
				Events: []Event{{ID: "1796287444334-" + strconv.Itoa(i), Topic: "order:1042", Type: "order.in_transit"}}}
			if withBody {
				e.Body = []byte(body)
				e.Headers = map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "fulfillments/update",
					"X-Shopify-Webhook-Id": e.DeliveryID, "X-Shopify-Hmac-Sha256": "EewnqeIku9N+QIf3ZteKAQwBUQdu3cO3PsjJbSpgUvU="}
			}
			batch = append(batch, e)
			if len(batch) == 100 {
				if err := r.Append(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		after := usedMemory(t, c)
		n, _ := c.LLen(context.Background(), r.listKey("shopify")).Result()
		b, _ := c.Get(context.Background(), r.bytesKey("shopify")).Int64()
		t.Logf("bodies=%v: %d entries, %d bytes of entries, Redis used_memory +%d bytes (%.0f B/entry, %.1f MiB per 10,000)",
			withBody, n, b, after-before, float64(after-before)/float64(n), float64(after-before)/float64(n)*10_000/(1<<20))
		c.Close()
	}
}

func usedMemory(t *testing.T, c *goredis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory in INFO")
	return 0
}
