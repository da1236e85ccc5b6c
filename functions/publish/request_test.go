package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
)

var testNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func TestParseRequest(t *testing.T) {
	d := defaults{source: "sqs", typ: "", key: "m-1"}
	msgs, err := parseRequest([]byte(`{"topic":"order:1","type":"order.shipped","data":{"a":1},"time":"2026-01-02T03:04:05Z"}`), d, testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Topic != "order:1" || m.Source != "sqs" || m.IdempotencyKey != "m-1" || string(m.Data) != `{"a":1}` || m.Time.Year() != 2026 {
		t.Errorf("message %+v", m)
	}
	msgs, err = parseRequest([]byte(`{"events":[{"topic":"a:1","type":"t","source":"mine","idempotency_key":"own"},{"topic":"a:2","type":"t","data":null}]}`), d, testNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].IdempotencyKey != "own" || msgs[0].Source != "mine" || msgs[1].IdempotencyKey != "m-1#1" || msgs[1].Data != nil {
		t.Errorf("batch %+v", msgs)
	}
	// EventBridge: detail-type is the default type.
	msgs, err = parseRequest([]byte(`{"topic":"a:1"}`), defaults{typ: "order.paid"}, testNow, 0)
	if err != nil || msgs[0].Type != "order.paid" || msgs[0].IdempotencyKey != "" {
		t.Errorf("defaults: %+v %v", msgs, err)
	}
}

func TestParseRequestInvalid(t *testing.T) {
	for body, want := range map[string]string{
		``:                              "empty body",
		`[]`:                            "want a JSON object",
		`{"topic":"a:1","type":"t"} {}`: "data after the first value",
		`{"topic":"room:b","topic":"a:1","type":"t"}`:        "topic: given more than once",
		`{"topic":"a:1","type":"t","data":"` + "\xff" + `"}`: "data: not valid UTF-8",
		`{"events":[]}`:                      "must not be empty",
		`{"topic":"bad topic","type":"t"}`:   "topic",
		`{"topic":"a:1"}`:                    "type",
		`{"topic":"a:1","type":"has space"}`: "type",
		`{"events":[{"topic":"a:1","type":"t"},{"topic":"","type":"t"}]}`:                 "events[1]",
		`{"topic":"a:1","type":"t","idempotency_key":"` + strings.Repeat("k", 201) + `"}`: "idempotency_key",
		`{"topic":"a:1","type":"t","data":"` + strings.Repeat("x", 70<<10) + `"}`:         "a:1",
	} {
		_, err := parseRequest([]byte(body), defaults{}, testNow, 0)
		if !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: %v, want errInvalid naming %q", body, err, want)
		}
	}
}

// TestParseRequestSharedRefusals: the Lambda refuses the cases every way
// in shares (bustest.BadPublishes) as the shared validator does: dropped
// as invalid (never retried), naming the same field.
func TestParseRequestSharedRefusals(t *testing.T) {
	for _, tc := range bustest.BadPublishes() {
		_, err := parseRequest([]byte(tc.Event), defaults{source: "sqs", key: "m-1"}, testNow, 0)
		if !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), tc.Field) || bus.BadTopic(err) != tc.BadTopic {
			t.Errorf("%s: %v, want errInvalid naming %q", tc.Name, err, tc.Field)
		}
	}
}
