package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/event"
)

func TestEncodeBodyLayout(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.FixedZone("x", 3600))
	m := Message{Topic: "order:1042", Type: "order.shipped", Source: "shopify", Data: json.RawMessage("{\n  \"a\": [1, 2],\n  \"b\": \"x y\"\n}")}
	b, err := EncodeBody(m, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"order:1042","type":"order.shipped","time":"2026-11-23T08:00:00.123456789Z","source":"shopify","data":{"a":[1,2],"b":"x y"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	full := AttachID(b, event.ID{MS: 1700000000000, Seq: 3})
	wantFull := `{"id":"1700000000000-3",` + want[1:]
	if string(full) != wantFull {
		t.Fatalf("AttachID: got %s", full)
	}
	if string(b) != want {
		t.Fatal("AttachID modified body")
	}
	var e event.Event
	if err := json.Unmarshal(full, &e); err != nil {
		t.Fatal(err)
	}
	if e.ID != "1700000000000-3" || e.Topic != m.Topic || e.Type != m.Type || e.Source != m.Source || !e.Time.Equal(now) {
		t.Fatalf("decoded %+v", e)
	}
}

func TestEncodeBodyDefaults(t *testing.T) {
	now := time.Unix(1700000000, 0)
	b, err := EncodeBody(Message{Topic: "a", Type: "t"}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"a","type":"t","time":"2023-11-14T22:13:20Z","data":{}}`
	if string(b) != want {
		t.Fatalf("got %s want %s", b, want)
	}
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err = EncodeBody(Message{Topic: "a", Type: "t", Time: at, Data: json.RawMessage(`null`)}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"time":"2020-01-02T03:04:05Z"`) || !strings.HasSuffix(string(b), `"data":null}`) {
		t.Fatalf("got %s", b)
	}
}

func TestEncodeBodyEscapes(t *testing.T) {
	b, err := EncodeBody(Message{Topic: "a", Type: `x"y\z`, Source: `s"`}, time.Unix(0, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	var e event.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if e.Type != `x"y\z` || e.Source != `s"` {
		t.Fatalf("decoded %+v", e)
	}
	if got := string(appendString(nil, "a\n\x7f")); got != `"a\u000a\u007f"` {
		t.Fatalf("appendString control bytes: %s", got)
	}
}

func TestEncodeBodyInvalid(t *testing.T) {
	cases := []struct {
		name string
		m    Message
		want string
	}{
		{"empty topic", Message{Type: "t"}, "must not be empty"},
		{"bad topic char", Message{Topic: "a b", Type: "t"}, "not allowed"},
		{"empty segment", Message{Topic: "a::b", Type: "t"}, "empty segment"},
		{"empty type", Message{Topic: "a"}, "event type: must not be empty"},
		{"type with space", Message{Topic: "a", Type: "a b"}, "printable"},
		{"type too long", Message{Topic: "a", Type: strings.Repeat("t", event.MaxTypeLen+1)}, "longer than"},
		{"source with control", Message{Topic: "a", Type: "t", Source: "s\n"}, "event source"},
		{"source too long", Message{Topic: "a", Type: "t", Source: strings.Repeat("s", event.MaxSourceLen+1)}, "event source"},
		{"bad json", Message{Topic: "a", Type: "t", Data: json.RawMessage(`{"a":`)}, "not valid JSON"},
		{"two values", Message{Topic: "a", Type: "t", Data: json.RawMessage(`{} {}`)}, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeBody(c.m, time.Now(), 0)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	var te *event.TopicError
	_, err := EncodeBody(Message{Topic: "a b", Type: "t"}, time.Now(), 0)
	if !errors.As(err, &te) {
		t.Fatalf("topic error not reachable with errors.As: %v", err)
	}
}

func TestEncodeBodySize(t *testing.T) {
	const limit = 1000
	now := time.Unix(1700000000, 0)
	small, err := EncodeBody(Message{Topic: "a", Type: "t"}, now, limit)
	if err != nil {
		t.Fatal(err)
	}
	// Data that fills the limit exactly (with the longest possible id) fits;
	// one more byte does not.
	fill := limit - maxIDOverhead - len(small) + len(emptyData) - 2
	fits := json.RawMessage(`"` + strings.Repeat("x", fill) + `"`)
	b, err := EncodeBody(Message{Topic: "a", Type: "t", Data: fits}, now, limit)
	if err != nil {
		t.Fatalf("exact fit rejected: %v", err)
	}
	maxID := event.ID{MS: ^uint64(0), Seq: ^uint64(0)}
	if n := len(AttachID(b, maxID)); n != limit {
		t.Fatalf("full event is %d bytes, want %d", n, limit)
	}
	over := json.RawMessage(`"` + strings.Repeat("x", fill+1) + `"`)
	_, err = EncodeBody(Message{Topic: "a", Type: "t", Data: over}, now, limit)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "1001 bytes") || !strings.Contains(err.Error(), "1000 bytes") {
		t.Fatalf("err = %v", err)
	}
	huge := json.RawMessage(`"` + strings.Repeat("x", 10*limit) + `"`)
	if _, err := EncodeBody(Message{Topic: "a", Type: "t", Data: huge}, now, limit); !errors.Is(err, ErrInvalid) {
		t.Fatalf("huge: err = %v", err)
	}
}

func TestNextID(t *testing.T) {
	cases := []struct {
		last event.ID
		now  uint64
		want event.ID
	}{
		{event.ID{}, 5, event.ID{MS: 5}},
		{event.ID{MS: 5, Seq: 0}, 5, event.ID{MS: 5, Seq: 1}},
		{event.ID{MS: 5, Seq: 7}, 6, event.ID{MS: 6}},
		{event.ID{MS: 5, Seq: 7}, 3, event.ID{MS: 5, Seq: 8}}, // clock stepped back
		{event.ID{}, 0, event.ID{MS: 0, Seq: 1}},              // never 0-0
	}
	for _, c := range cases {
		got := NextID(c.last, c.now)
		if got != c.want {
			t.Errorf("NextID(%v, %d) = %v, want %v", c.last, c.now, got, c.want)
		}
		if got.Compare(c.last) <= 0 {
			t.Errorf("NextID(%v, %d) = %v not after last", c.last, c.now, got)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	m := Message{Topic: "order:1042", Type: "order.shipped", Source: "shopify", Data: json.RawMessage(`{"order":1042,"carrier":"ups","eta":"2026-11-24"}`)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		body, err := EncodeBody(m, now, 0)
		if err != nil {
			b.Fatal(err)
		}
		_ = AttachID(body, event.ID{MS: 1700000000000, Seq: 1})
	}
}

// FuzzEncodeBody: whatever a producer sends, EncodeBody either refuses it
// with ErrInvalid or returns bytes that start with {"topic":, hold no raw
// newline (they go into SSE data: lines), decode back to the message, and
// with any id stay within the limit.
func FuzzEncodeBody(f *testing.F) {
	f.Add("order:1042", "order.shipped", "shopify", []byte(`{"a": [1, 2]}`), 1024)
	f.Add("a", "t", "", []byte(""), 0)
	f.Add("a", `x"\`, "s", []byte("\"line\\nbreak\"\n"), 100)
	f.Fuzz(func(t *testing.T, topic, typ, source string, data []byte, limit int) {
		m := Message{Topic: topic, Type: typ, Source: source, Data: data}
		now := time.Unix(1700000000, 5)
		b, err := EncodeBody(m, now, limit)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !strings.HasPrefix(string(b), bodyPrefix) || strings.ContainsAny(string(b), "\r\n") {
			t.Fatalf("body %q", b)
		}
		full := AttachID(b, event.ID{MS: ^uint64(0), Seq: ^uint64(0)})
		if limit <= 0 {
			limit = DefaultMaxEventBytes
		}
		if len(full) > limit {
			t.Fatalf("%d bytes with the longest id, limit %d", len(full), limit)
		}
		var e event.Event
		if err := json.Unmarshal(full, &e); err != nil {
			t.Fatalf("%s: %v", full, err)
		}
		if e.Topic != topic || e.Type != typ || e.Source != source || !e.Time.Equal(now) {
			t.Fatalf("decoded %+v from %+v", e, m)
		}
		if len(data) > 0 && !jsonEqual(e.Data, data) || len(data) == 0 && string(e.Data) != emptyData {
			t.Fatalf("data %s, sent %q", e.Data, data)
		}
	})
}

// jsonEqual compares two JSON texts by value. Numbers are kept as their
// text (UseNumber): event data is passed through as sent, and a number
// valid in JSON but out of float64's range (1E700) is still the same value.
func jsonEqual(a, b []byte) bool {
	decode := func(p []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	x, errX := decode(a)
	y, errY := decode(b)
	if errX != nil || errY != nil {
		return false
	}
	xa, _ := json.Marshal(x) // re-marshalled for comparison only; both decoded fine
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
