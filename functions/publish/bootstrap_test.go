package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/functions/internal/runtimetest"
	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// sqsBatch builds an SQS event from aws-lambda-go's sample record, one
// record per body, with message ids m0, m1, ...
func sqsBatch(t *testing.T, prefix string, bodies ...string) []byte {
	t.Helper()
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	readJSON(t, "sqs-event.json", &ev)
	tmpl := ev.Records[0]
	ev.Records = nil
	for i, b := range bodies {
		r := map[string]any{}
		for k, v := range tmpl {
			r[k] = v
		}
		r["messageId"] = prefix + string(rune('0'+i))
		r["body"] = b
		ev.Records = append(ev.Records, r)
	}
	return mustJSON(t, ev)
}

func snsEvent(t *testing.T, id, message string) []byte {
	t.Helper()
	var ev map[string]any
	readJSON(t, "sns-event.json", &ev)
	sns := ev["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)
	sns["MessageId"] = id
	sns["Message"] = message
	return mustJSON(t, ev)
}

// ebEvent is an EventBridge event as delivered to a Lambda target.
func ebEvent(t *testing.T, id, detail string) []byte {
	t.Helper()
	return []byte(`{"version":"0","id":"` + id + `","detail-type":"order.shipped","source":"com.acme.orders",
		"account":"123456789012","time":"2026-11-23T09:00:00Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`)
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func call(t *testing.T, rt *runtimetest.Runtime, event []byte) runtimetest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, event, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

const (
	valid   = `{"topic":"order:7","type":"order.shipped","data":{"n":1}}`
	invalid = `{"topic":"order 7!","type":"order.shipped"}`
)

// TestBootstrap runs the real bootstrap binary under the emulated Runtime
// API against a real redis-server.
func TestBootstrap(t *testing.T) {
	bin := runtimetest.Build(t, "github.com/hookrelay/hookrelay/functions/publish")
	srv := redistest.Start(t)
	rt := runtimetest.Start(t)
	p := runtimetest.Run(t, rt, bin, "REDIS_URL="+srv.URL())
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
	history := func(topic string) int {
		t.Helper()
		page, err := b.History(ctx, topic, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}

	t.Run("sqs valid and invalid", func(t *testing.T) {
		res := call(t, rt, sqsBatch(t, "a", valid, invalid, "not json"))
		jsonEq(t, res.Payload, `{"batchItemFailures":[]}`)
		if n := history("order:7"); n != 1 {
			t.Errorf("history %d events", n)
		}
		// SQS redelivers the same message id: deduplicated.
		res = call(t, rt, sqsBatch(t, "a", valid))
		jsonEq(t, res.Payload, `{"batchItemFailures":[]}`)
		if n := history("order:7"); n != 1 {
			t.Errorf("after redelivery: history %d events", n)
		}
		if !strings.Contains(p.Logs(), `"invalid":2`) {
			t.Errorf("no summary with the invalid count in\n%s", p.Logs())
		}
	})

	t.Run("eventbridge", func(t *testing.T) {
		detail := `{"topic":"order:8","data":{"id":8}}`
		res := call(t, rt, ebEvent(t, "eb-1", detail))
		if res.Err != nil || !strings.Contains(string(res.Payload), `"topic":"order:8","duplicate":false`) {
			t.Fatalf("payload %s err %+v", res.Payload, res.Err)
		}
		res = call(t, rt, ebEvent(t, "eb-1", detail))
		if !strings.Contains(string(res.Payload), `"duplicate":true`) {
			t.Errorf("retried event id not deduplicated: %s", res.Payload)
		}
		page, err := b.History(ctx, "order:8", "", 10)
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("history %v %v", page, err)
		}
		ev, err := page.Events[0].Decode()
		if err != nil || ev.Type != "order.shipped" || ev.Source != "com.acme.orders" {
			t.Errorf("event %+v (detail-type and source are the defaults) %v", ev, err)
		}
	})

	t.Run("sns", func(t *testing.T) {
		res := call(t, rt, snsEvent(t, "sns-1", `{"topic":"alerts:ops","type":"alert.firing"}`))
		if res.Err != nil || !strings.Contains(string(res.Payload), `"topic":"alerts:ops"`) {
			t.Fatalf("payload %s err %+v", res.Payload, res.Err)
		}
	})

	t.Run("direct", func(t *testing.T) {
		res := call(t, rt, []byte(`{"events":[{"topic":"room:a","type":"chat.message","data":{"t":"hi"},"idempotency_key":"k1"},
			{"topic":"room:b","type":"chat.message"}]}`))
		if res.Err != nil || !strings.Contains(string(res.Payload), `"topic":"room:b"`) {
			t.Fatalf("payload %s err %+v", res.Payload, res.Err)
		}
		res = call(t, rt, []byte(valid))
		if res.Err != nil {
			t.Fatalf("single: %+v", res.Err)
		}
		res = call(t, rt, []byte(invalid))
		if res.Err == nil || !strings.Contains(res.Err.Message, "topic") {
			t.Errorf("invalid direct request: payload %s err %+v", res.Payload, res.Err)
		}
	})

	t.Run("redis down", func(t *testing.T) {
		srv.Kill()
		start := time.Now()
		res := call(t, rt, sqsBatch(t, "b", valid, invalid, `{"topic":"order:9","type":"x"}`))
		jsonEq(t, res.Payload, `{"batchItemFailures":[{"itemIdentifier":"b0"},{"itemIdentifier":"b2"}]}`)
		t.Logf("sqs batch with Redis down answered in %v", time.Since(start).Round(time.Millisecond))
		if res := call(t, rt, ebEvent(t, "eb-2", valid)); res.Err == nil {
			t.Errorf("eventbridge with Redis down: %s", res.Payload)
		}
		if res := call(t, rt, []byte(valid)); res.Err == nil || !strings.Contains(res.Err.Message, "unavailable") {
			t.Errorf("direct with Redis down: %s %+v", res.Payload, res.Err)
		}
	})
}
