package main

import (
	"errors"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// FuzzParseRequest: any body either fails as errInvalid or yields
// messages the bus encodes.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"topic":"order:1","type":"t","data":{"a":[1,2]},"idempotency_key":"k"}`), "id-1")
	f.Add([]byte(`{"events":[{"topic":"a:1","type":"t"},{"topic":"a:2","type":"u","time":"2026-01-01T00:00:00Z"}]}`), "")
	f.Add([]byte(`{"events":null,"topic":"a:b"}`), "x")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		msgs, err := parseRequest(body, defaults{source: "sqs", typ: "dt", key: key}, testNow, 0)
		if err != nil {
			if !errors.Is(err, errInvalid) {
				t.Fatalf("error not errInvalid: %v", err)
			}
			return
		}
		if len(msgs) == 0 {
			t.Fatal("no messages without error")
		}
		for _, m := range msgs {
			if _, err := bus.EncodeBody(m, testNow, 0); err != nil {
				t.Fatalf("accepted message the bus refuses: %v", err)
			}
			if len(m.IdempotencyKey) > bus.MaxIdempotencyKeyLen {
				t.Fatalf("key of %d bytes", len(m.IdempotencyKey))
			}
		}
	})
}
