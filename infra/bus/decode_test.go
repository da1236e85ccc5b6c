package bus_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
)

// TestBadPublishes runs the cases every way in shares through the shared
// validator itself.
func TestBadPublishes(t *testing.T) {
	for _, tc := range bustest.BadPublishes() {
		_, _, err := bus.Messages([]byte(tc.Event), bus.DecodeOptions{Strict: true}, bus.Policy{})
		var re *bus.RequestError
		if !errors.As(err, &re) || !errors.Is(err, bus.ErrRequest) {
			t.Errorf("%s: %v, want a *RequestError", tc.Name, err)
			continue
		}
		if bus.BadTopic(err) != tc.BadTopic || !strings.Contains(err.Error(), tc.Field) {
			t.Errorf("%s: %v (bad topic %v), want naming %q, bad topic %v", tc.Name, err, bus.BadTopic(err), tc.Field, tc.BadTopic)
		}
	}
}

// TestDuplicateKeys: a field given twice is refused wherever it is (I8),
// in a batch too; unknown fields may repeat where unknown fields are
// skipped.
func TestDuplicateKeys(t *testing.T) {
	for body, want := range map[string]string{
		`{"topic":"room:b","topic":"order:1","type":"t"}`:                               "topic: given more than once",
		`{"events":[{"topic":"a:1","type":"t"}],"events":[{"topic":"b:1","type":"t"}]}`: "events: given more than once",
		`{"events":[{"topic":"a:1","type":"t"},{"topic":"a:1","TYPE":"t","type":"u"}]}`: "events[1].type: given more than once",
		`{"topic":"a:1","type":"t","time":null,"time":"2026-01-01T00:00:00Z"}`:          "time: given more than once",
		`{"topic":"a:1","type":"t","source":"x","ſource":"y"}`:                          "source: given more than once",
	} {
		_, err := bus.DecodeRequest([]byte(body), bus.DecodeOptions{})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	r, err := bus.DecodeRequest([]byte(`{"topic":"a:1","x":1,"x":2,"type":"t"}`), bus.DecodeOptions{})
	if err != nil || r.Topic != "a:1" {
		t.Errorf("repeated unknown field: %+v %v", r, err)
	}
}

// TestDecodeOptions: strict refuses unknown fields; single reads
// "events" as an unknown field.
func TestDecodeOptions(t *testing.T) {
	body := []byte(`{"op":"publish","topic":"a:1","type":"t"}`)
	if _, err := bus.DecodeRequest(body, bus.DecodeOptions{Strict: true}); err == nil || err.Error() != `unknown field "op"` {
		t.Errorf("strict: %v", err)
	}
	r, err := bus.DecodeRequest([]byte(`{"events":[1],"topic":"a:1","type":"t"}`), bus.DecodeOptions{Single: true})
	if err != nil || r.Events != nil || r.Topic != "a:1" {
		t.Errorf("single: %+v %v", r, err)
	}
}

// TestDecodeRequestLikeEncodingJSON: what the decoder accepts it reads as
// encoding/json does (escapes, case, null, invalid UTF-8, times).
func TestDecodeRequestLikeEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"topic":"a:1","type":"t","data":{"n":[1,2.5e3,-0,true,null,"x\u00e9"]},"source":"s","time":"2026-01-02T03:04:05.5+02:00","idempotency_key":"k"}`,
		`{"TOPIC":"a:1","Type":"t","DATA":null,"time":null}`,
		`{"to\u0070ic":"a:\u00e9","type":"t\n","source":"` + "\xff" + `"}`,
		`{"events":[{"topic":"a:1","type":"t"},null,{"data":  [ ] }]}`,
		`{"events":[]}`, `{"events":null,"topic":"a:1"}`, `null`, ` {} `,
		`{"idempotency_\u212aey":"k","x":{"y":[{}]}}`,
	} {
		got, err := bus.DecodeRequest([]byte(body), bus.DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		var want bus.Request
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%s: encoding/json: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", body, got, want)
		}
	}
}

// FuzzDecodeRequest checks the decoder against encoding/json: it accepts
// exactly what encoding/json accepts, except a field given twice, and
// reads the same request. Strict mode is checked against a Decoder with
// DisallowUnknownFields.
func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range bustest.BadPublishes() {
		f.Add([]byte(tc.Event))
	}
	f.Add([]byte(`{"events":[{"topic":"a:1","type":"t","data":{"a":[1,{"b":null}]}},{"topic":"a:2","type":"u","time":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"Topic":"a:1","type":"t","idempotency_\u212aey":"k","extra":[true,false,-1.5E+2]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, strict := range []bool{false, true} {
			got, err := bus.DecodeRequest(b, bus.DecodeOptions{Strict: strict})
			want, werr := reference(b, strict)
			switch {
			case err != nil && !errors.Is(err, bus.ErrRequest):
				t.Fatalf("error not ErrRequest: %v", err)
			case werr != nil && err == nil:
				t.Fatalf("strict %v: accepted what encoding/json refuses (%v): %+v", strict, werr, got)
			case werr == nil && err != nil && !strings.Contains(err.Error(), "given more than once"):
				t.Fatalf("strict %v: refused what encoding/json accepts: %v", strict, err)
			case err == nil && !reflect.DeepEqual(got, want):
				t.Fatalf("strict %v:\n got %+v\nwant %+v", strict, got, want)
			}
		}
	})
}

// reference decodes b with encoding/json: one value, nothing after it.
func reference(b []byte, strict bool) (bus.Request, error) {
	var r bus.Request
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); err != io.EOF {
		return r, errors.New("data after the value")
	}
	return r, nil
}

// BenchmarkDecodeRequest: the publish hot path's decode and validation
// of the relaybench body, against encoding/json doing the decode.
func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(`{"topic":"bench:p0","type":"bench.event","data":{"n":1,"msg":"hello world, a sixty-byte event"}}`)
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := bus.Messages(body, bus.DecodeOptions{Strict: true}, bus.Policy{Source: "api"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reference(body, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}
