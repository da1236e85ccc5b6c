package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/functions/internal/runtimetest"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/webhook"
)

const shopSecret = "shpss_test_0123456789abcdef"

// delivery is a Shopify fulfillment update for order 1042, with bytes a
// re-encoding would change (CRLF, escaped unicode, key order).
const delivery = "{\r\n  \"order_id\": 1042, \"id\": 77,\r\n  \"status\": \"success\", \"shipment_status\": \"out_for_delivery\",\r\n  \"tracking_company\": \"caf\\u00e9 \u00e9xpress\"}\r\n"

// bodyFor is delivery made unique per delivery id. The webhook handler
// deduplicates Shopify deliveries on the signed body (the id header is not
// signed), so distinct deliveries carry distinct bodies, as Shopify's own do.
func bodyFor(id string) string {
	return strings.Replace(delivery, `"id": 77,`, `"id": 77, "delivery": "`+id+`",`, 1)
}

// signFor is the Shopify signature of bodyFor(id).
func signFor(id string) string { return webhook.SignShopify(shopSecret, []byte(bodyFor(id))) }

// writeConfig writes the HOOKRELAY_CONFIG file: one Shopify source whose
// secret comes from the environment.
func writeConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hookrelay.yaml")
	yaml := "sources:\n  - name: shop\n    provider: shopify\n    secrets: [\"env:SHOPIFY_WEBHOOK_SECRET\"]\n    preset: shopify\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sample loads one of aws-lambda-go's sample events and edits it.
func sample(t *testing.T, name string, fn func(ev map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "lambdahttp", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	fn(ev)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shopHeaders(id, sig string) map[string]any {
	return map[string]any{
		"content-type":          "application/json",
		"x-shopify-topic":       "fulfillments/update",
		"x-shopify-webhook-id":  id,
		"x-shopify-hmac-sha256": sig,
		"host":                  "hooks.example.com",
	}
}

// v2Event is an HTTP API (payload 2.0) delivery with a base64 body.
func v2Event(t *testing.T, id, sig string) []byte {
	return sample(t, "apigw-v2-request-no-authorizer.json", func(ev map[string]any) {
		ev["rawPath"] = "/hooks/shop"
		ev["routeKey"] = "POST /hooks/{source}"
		ev["headers"] = shopHeaders(id, sig)
		ev["body"] = base64.StdEncoding.EncodeToString([]byte(bodyFor(id)))
		ev["isBase64Encoded"] = true
		rc := ev["requestContext"].(map[string]any)
		rc["http"].(map[string]any)["method"] = "POST"
		rc["http"].(map[string]any)["path"] = "/hooks/shop"
	})
}

func albEvent(t *testing.T, id, sig string) []byte {
	return sample(t, "alb-lambda-target-request-headers-only.json", func(ev map[string]any) {
		ev["httpMethod"] = "POST"
		ev["path"] = "/hooks/shop"
		ev["headers"] = shopHeaders(id, sig)
		ev["body"] = bodyFor(id)
		ev["isBase64Encoded"] = false
	})
}

func restEvent(t *testing.T, id, sig string) []byte {
	return sample(t, "apigw-request.json", func(ev map[string]any) {
		ev["path"] = "/hooks/shop"
		ev["resource"] = "/hooks/{source}"
		multi := map[string]any{}
		for k, v := range shopHeaders(id, sig) {
			multi[k] = []any{v}
		}
		ev["headers"] = shopHeaders(id, sig)
		ev["multiValueHeaders"] = multi
		ev["body"] = base64.StdEncoding.EncodeToString([]byte(bodyFor(id)))
		ev["isBase64Encoded"] = true
	})
}

type response struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func (r response) header(name string) string {
	if v, ok := r.Headers[name]; ok {
		return v
	}
	return strings.Join(r.MultiValueHeaders[name], ",")
}

func invoke(t *testing.T, rt *runtimetest.Runtime, event []byte) (response, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, event, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("invocation error %+v", res.Err)
	}
	var r response
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	return r, res.Elapsed
}

// TestBootstrap runs the real bootstrap binary under the emulated Runtime
// API against a real redis-server, one warm execution environment for
// every shape, then kills Redis.
func TestBootstrap(t *testing.T) {
	bin := runtimetest.Build(t, "github.com/hookrelay/hookrelay/functions/ingest")
	t.Run("init error", func(t *testing.T) { testInitError(t, bin) })
	srv := redistest.Start(t)
	rt := runtimetest.Start(t)
	p := runtimetest.Run(t, rt, bin,
		"REDIS_URL="+srv.URL(),
		"HOOKRELAY_CONFIG="+writeConfig(t),
		"SHOPIFY_WEBHOOK_SECRET="+shopSecret,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := rt.FirstNext(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Logs())
	}
	t.Logf("cold init (process start to first /next): %v", first.Sub(p.Started).Round(time.Millisecond))

	b, err := redis.New(ctx, redis.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	shapes := []struct {
		name  string
		event func(t *testing.T, id, sig string) []byte
	}{{"v2", v2Event}, {"alb", albEvent}, {"rest", restEvent}}
	for i, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			r, took := invoke(t, rt, s.event(t, "delivery-"+s.name, signFor("delivery-"+s.name)))
			if r.StatusCode != 200 {
				t.Fatalf("status %d body %s", r.StatusCode, r.Body)
			}
			t.Logf("%s: 200 in %v", s.name, took.Round(time.Microsecond))
			if s.name == "alb" && r.StatusDescription != "200 OK" {
				t.Errorf("statusDescription %q", r.StatusDescription)
			}
			var body struct {
				Events []struct{ ID, Topic string }
			}
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body.Events) != 1 || body.Events[0].Topic != "order:1042" {
				t.Fatalf("body %s (%v)", r.Body, err)
			}
			page, err := b.History(ctx, "order:1042", "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Events) != i+1 {
				t.Fatalf("history has %d events, want %d", len(page.Events), i+1)
			}
			ev, err := page.Events[i].Decode()
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID != body.Events[0].ID || ev.Type != "order.out_for_delivery" || ev.Source != "shop" {
				t.Errorf("stored event %+v, answered id %s", ev, body.Events[0].ID)
			}
		})
	}

	t.Run("redelivery", func(t *testing.T) {
		r, _ := invoke(t, rt, v2Event(t, "delivery-v2", signFor("delivery-v2")))
		if r.StatusCode != 200 || !strings.Contains(r.Body, `"duplicate":true`) {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		bad := webhook.SignShopify("wrong secret", []byte(delivery))
		for _, ev := range [][]byte{v2Event(t, "x", bad), albEvent(t, "x", bad), restEvent(t, "x", bad)} {
			r, _ := invoke(t, rt, ev)
			if r.StatusCode != 401 {
				t.Errorf("status %d body %s", r.StatusCode, r.Body)
			}
		}
		// Re-encoded JSON (what a non-exact adapter would verify) fails too:
		// the signature is over the bytes sent.
		var v any
		if err := json.Unmarshal([]byte(delivery), &v); err != nil {
			t.Fatal(err)
		}
		compact, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := invoke(t, rt, v2Event(t, "y", webhook.SignShopify(shopSecret, compact)))
		if r.StatusCode != 401 {
			t.Errorf("signature over re-encoded body: status %d", r.StatusCode)
		}
	})

	t.Run("delivery log", func(t *testing.T) { testDeliveryLog(t, b) })

	t.Run("stage prefix", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(v2Event(t, "delivery-stage", signFor("delivery-stage")), &m); err != nil {
			t.Fatal(err)
		}
		m["rawPath"] = "/prod/hooks/shop"
		m["requestContext"].(map[string]any)["stage"] = "prod"
		ev, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := invoke(t, rt, ev); r.StatusCode != 200 {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("warm", func(t *testing.T) { testWarm(t, rt, srv.Addr()) })

	t.Run("redis stuck", func(t *testing.T) {
		// SIGSTOP: connections stay open but nothing answers, the worst
		// case for a webhook endpoint. The 1 s I/O timeout must answer
		// 503 well within the providers' own timeouts (Shopify 5 s).
		pid := redisPID(t, srv.Addr())
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		cont := func() {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT redis: %v", err)
			}
		}
		defer cont()
		r, took := invoke(t, rt, v2Event(t, "while-stuck", signFor("while-stuck")))
		if r.StatusCode != 503 || r.header("Retry-After") == "" {
			t.Errorf("status %d Retry-After %q body %s", r.StatusCode, r.header("Retry-After"), r.Body)
		}
		t.Logf("503 with Redis stopped (SIGSTOP), in %v", took.Round(time.Millisecond))
		if took > 3*time.Second {
			t.Errorf("503 took %v with a stuck Redis", took)
		}
	})

	t.Run("unknown route", func(t *testing.T) {
		r, _ := invoke(t, rt, sample(t, "apigw-v2-request-no-authorizer.json", func(map[string]any) {}))
		if r.StatusCode != 404 {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("redis killed", func(t *testing.T) {
		srv.Kill()
		for _, s := range shapes {
			r, took := invoke(t, rt, s.event(t, "after-kill-"+s.name, signFor("after-kill-"+s.name)))
			if r.StatusCode != 503 || r.header("Retry-After") == "" {
				t.Errorf("%s: status %d Retry-After %q body %s", s.name, r.StatusCode, r.header("Retry-After"), r.Body)
			}
			t.Logf("%s: 503 after Redis was killed, in %v", s.name, took.Round(time.Microsecond))
			if took > 2*time.Second {
				t.Errorf("%s: 503 took %v; a dead Redis must fail fast", s.name, took)
			}
		}
	})
}

// testWarm measures warm invocations against a bare Redis round trip
// (docs/lambda.md): the median of a fresh delivery (one publish script),
// of an unknown route (no Redis at all: the emulator's two local HTTP hops
// plus decoding) and of a PING from this process. Logged, not asserted:
// the machine is shared; the bound only catches a gross regression.
func testWarm(t *testing.T, rt *runtimetest.Runtime, addr string) {
	const n = 101
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	publish := make([]time.Duration, n)
	for i := range publish {
		r, took := invoke(t, rt, v2Event(t, "warm-"+strconv.Itoa(i), signFor("warm-"+strconv.Itoa(i))))
		if r.StatusCode != 200 {
			t.Fatalf("status %d body %s", r.StatusCode, r.Body)
		}
		publish[i] = took
	}
	noRedis := make([]time.Duration, n)
	unknown := sample(t, "apigw-v2-request-no-authorizer.json", func(map[string]any) {})
	for i := range noRedis {
		_, noRedis[i] = invoke(t, rt, unknown)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ping := make([]time.Duration, n)
	for i := range ping {
		start := time.Now()
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		ping[i] = time.Since(start)
	}
	p, nr, pg := median(publish), median(noRedis), median(ping)
	t.Logf("warm medians over %d: delivery 200 %v, unknown route (no Redis) %v, Redis PING %v; delivery - PING = %v",
		n, p.Round(time.Microsecond), nr.Round(time.Microsecond), pg.Round(time.Microsecond), (p - pg).Round(time.Microsecond))
	if p-pg > 50*time.Millisecond {
		t.Errorf("warm delivery median %v is %v over a Redis PING", p, p-pg)
	}
}

// redisPID asks the test's redis-server for its process id.
func redisPID(t *testing.T, addr string) int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no process_id in INFO server")
	return 0
}

// A missing REDIS_URL is reported to /runtime/init/error, naming the key,
// and the process exits.
func testInitError(t *testing.T, bin string) {
	rt := runtimetest.Start(t)
	p := runtimetest.Run(t, rt, bin, "HOOKRELAY_CONFIG="+writeConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := rt.InitError(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Logs())
	}
	if !strings.Contains(e.Message, "REDIS_URL") || e.Type != "Runtime.ConfigError" {
		t.Errorf("init error %+v", e)
	}
	if code, ok := p.Exited(ctx); !ok || code == 0 {
		t.Errorf("exit code %d (exited %v)", code, ok)
	}
}

// testDeliveryLog: the Lambda logged what it answered above into Redis,
// refusals with their reason, where the console reads them.
func testDeliveryLog(t *testing.T, b *redis.Bus) {
	store := deliverylog.NewRedis(b.Client(), b.Prefix(), deliverylog.Limits{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := store.List(context.Background(), deliverylog.Query{Sources: []string{"shop"}})
		if err != nil {
			t.Fatal(err)
		}
		var refused, dup, published int
		for _, e := range es {
			switch {
			case e.Via != deliverylog.ViaLambda:
				t.Fatalf("entry via %q, want lambda: %+v", e.Via, e)
			case e.Reason == deliverylog.ReasonBadSignature && e.Header == "X-Shopify-Hmac-Sha256":
				refused++
			case e.Outcome == deliverylog.Duplicate:
				dup++
			case e.Outcome == deliverylog.Published && len(e.Events) == 1:
				published++
			}
		}
		if refused == 4 && dup == 1 && published == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log: %d refused, %d duplicate, %d published; want 4, 1, 3", refused, dup, published)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}
