package deliverylog

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingStore holds every Append until release is closed.
type blockingStore struct {
	*Memory
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingStore) Append(ctx context.Context, es []Entry) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Memory.Append(ctx, es)
}

// waitStats polls the writer until cond holds (bounded).
func waitStats(t *testing.T, w *Writer, what string, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(w.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, w.Stats())
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

// TestWriterNeverBlocks: with the store stuck, Observe still returns at
// once; what does not fit the queue is dropped and counted, and the rest is
// stored when the store comes back.
func TestWriterNeverBlocks(t *testing.T) {
	bs := &blockingStore{Memory: NewMemory(Limits{}), entered: make(chan struct{}), release: make(chan struct{})}
	w := NewWriter(bs, WriterOptions{Queue: 4})
	w.Observe(Entry{Source: "shop", DeliveryID: "first"})
	<-bs.entered // the writer holds "first" inside the stuck store
	for range 10 {
		w.Observe(Entry{Source: "shop", DeliveryID: "more"})
	}
	if s := w.Stats(); s.Dropped != 6 {
		t.Fatalf("dropped %d, want 6 (queue of 4 full)", s.Dropped)
	}
	close(bs.release)
	waitStats(t, w, "stored after release", func(s Stats) bool { return s.Written == 5 })
	w.Close(context.Background())
	got, _ := bs.List(context.Background(), Query{})
	if len(got) != 5 {
		t.Fatalf("stored %d entries, want 5", len(got))
	}
}

// TestWriterBodies: bodies and headers are kept only when enabled,
// configured fields are redacted and credentials never kept.
func TestWriterBodies(t *testing.T) {
	body := []byte(`{"id":1,"customer":{"email":"a@b.c","name":"A"},"items":[{"price":"9"},{"price":"8"}]}`)
	hdr := map[string][]string{"Authorization": {"Bearer s3cret"}, "Cookie": {"x=y"}, "X-Shopify-Topic": {"orders/create"}}
	for _, bodies := range []bool{false, true} {
		m := NewMemory(Limits{})
		red, err := NewRedactor([]string{"customer.email", "items.price"})
		if err != nil {
			t.Fatal(err)
		}
		w := NewWriter(m, WriterOptions{Bodies: bodies, Redact: red})
		e := Entry{Source: "shop", DeliveryID: "d"}
		e.WithRequest(hdr, body)
		w.Observe(e)
		w.Close(context.Background())
		got, _ := m.List(context.Background(), Query{})
		if len(got) != 1 {
			t.Fatalf("bodies=%v: %d entries", bodies, len(got))
		}
		enc, _ := json.Marshal(got[0])
		if strings.Contains(string(enc), "s3cret") || strings.Contains(string(enc), "x=y") {
			t.Fatalf("bodies=%v: a credential was kept: %s", bodies, enc)
		}
		if !bodies {
			if got[0].Body != nil || got[0].Headers != nil {
				t.Fatalf("bodies off, but kept %s", enc)
			}
			continue
		}
		want := `{"customer":{"email":"[redacted]","name":"A"},"id":1,"items":[{"price":"[redacted]"},{"price":"[redacted]"}]}`
		if string(got[0].Body) != want {
			t.Fatalf("body %s\nwant %s", got[0].Body, want)
		}
		if got[0].Headers["X-Shopify-Topic"] != "orders/create" {
			t.Fatalf("headers %v", got[0].Headers)
		}
	}
}

func TestRedactorNonJSON(t *testing.T) {
	r, _ := NewRedactor([]string{"email"})
	if b, note := r.Body([]byte("payload=%7B%22email%22%3A1%7D")); b != nil || note == "" {
		t.Fatalf("non-JSON body with redaction configured kept: %s (%q)", b, note)
	}
	r0, _ := NewRedactor(nil)
	if b, _ := r0.Body([]byte("a=b")); string(b) != `"a=b"` {
		t.Fatalf("non-JSON body without redaction = %s, want a JSON string", b)
	}
	for _, bad := range []string{"", ".", "a..b", "a.", strings.Repeat("x", 300)} {
		if _, err := NewRedactor([]string{bad}); err == nil {
			t.Errorf("NewRedactor(%q) accepted", bad)
		}
	}
}
