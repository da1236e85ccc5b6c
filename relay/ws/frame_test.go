package ws

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/relay/api"
)

// FuzzClientFrame: whatever a client sends, the parser does not panic, an
// accepted frame satisfies what the op handlers rely on, and a rejected one
// becomes a valid error frame.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"op":"subscribe","ref":"1","topics":["a","b"],"cursor":"v1.YSAxLTA7YiAyLTA"}`,
		`{"op":"subscribe","ref":"1","topics":["order:1"],"cursor":"1700000000000-3"}`,
		`{"op":"unsubscribe","ref":"2","topics":["a"]}`,
		`{"op":"publish","ref":"3","topic":"room:lobby","type":"chat.message","data":{"text":"hi"},"idempotency_key":"k"}`,
		`{"op":"auth","ref":"4","token":"x.y.z"}`,
		`{"op":"subscribe","topics":"a"}`,
		`{"op":7}`,
		`[]`,
		`{"ref":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, ferr := parseClientFrame(b, 10)
		if ferr != nil {
			if fr != nil {
				t.Fatal("both frame and error")
			}
			var back errorFrame
			if err := json.Unmarshal(encodeError(ferr), &back); err != nil || back.Op != "error" || back.Code == "" {
				t.Fatalf("error frame %q does not decode: %v", encodeError(ferr), err)
			}
			if len(back.Ref) > maxRefLen {
				t.Fatalf("echoed ref of %d bytes", len(back.Ref))
			}
			return
		}
		if !utf8.Valid(b) {
			t.Fatal("frame with invalid UTF-8 accepted")
		}
		switch fr.Op {
		case "subscribe", "unsubscribe":
			if len(fr.Topics) == 0 || len(fr.Topics) > 10 {
				t.Fatalf("%d topics accepted", len(fr.Topics))
			}
			for i, tp := range fr.Topics {
				if event.ValidateTopic(tp) != nil || slices.Index(fr.Topics, tp) != i {
					t.Fatalf("topic %q accepted", tp)
				}
			}
			for _, p := range fr.cursor {
				if !slices.Contains(fr.Topics, p.Topic) {
					t.Fatalf("cursor position for unsubscribed topic %q", p.Topic)
				}
			}
			ack := appendAck(nil, fr.Ref, fr.Topics, fr.cursor.AppendTo(nil), fr.cursor.AppendTo(nil))
			if !json.Valid(ack) {
				t.Fatalf("ack %q is not JSON", ack)
			}
		case "publish":
			e := event.Event{Topic: fr.Topic, Type: fr.Type, Data: fr.Data}
			if e.Validate() != nil {
				t.Fatalf("invalid publish accepted: %+v", e)
			}
			if len(fr.msg.IdempotencyKey) > api.MaxTokenIdempotencyKeyLen {
				t.Fatalf("idempotency key of %d bytes accepted", len(fr.msg.IdempotencyKey))
			}
		case "auth":
			if fr.Token == "" {
				t.Fatal("empty token accepted")
			}
		default:
			t.Fatalf("op %q accepted", fr.Op)
		}
	})
}

// TestPublishKeyLength: WebSocket publishers are token holders, whose
// idempotency keys are at most api.MaxTokenIdempotencyKeyLen (M2).
func TestPublishKeyLength(t *testing.T) {
	frame := func(n int) []byte {
		return []byte(`{"op":"publish","ref":"p","topic":"room:1","type":"x","idempotency_key":"` + strings.Repeat("k", n) + `"}`)
	}
	if _, ferr := parseClientFrame(frame(api.MaxTokenIdempotencyKeyLen), 10); ferr != nil {
		t.Fatalf("%d-byte key refused: %v", api.MaxTokenIdempotencyKeyLen, ferr)
	}
	if _, ferr := parseClientFrame(frame(api.MaxTokenIdempotencyKeyLen+1), 10); ferr == nil || ferr.Code != "bad_request" {
		t.Fatalf("%d-byte key: %v, want bad_request", api.MaxTokenIdempotencyKeyLen+1, ferr)
	}
}
