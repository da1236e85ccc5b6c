package bus

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRequestList(t *testing.T) {
	many := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"topic":"a","type":"t"},`, MaxBatch+1), ",") + `]}`
	for _, c := range []struct {
		name, body string
		n          int
		batch      bool
		err        string
	}{
		{"single", `{"topic":"a","type":"t","data":{"x":1}}`, 1, false, ""},
		{"batch", `{"events":[{"topic":"a","type":"t"},{"topic":"b","type":"t"}]}`, 2, true, ""},
		{"empty batch", `{"events":[]}`, 0, true, "must not be empty"},
		{"mixed", `{"topic":"a","events":[{"topic":"b","type":"t"}]}`, 0, true, "not both"},
		{"too many", many, 0, true, "at most 1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Request
			if err := json.Unmarshal([]byte(c.body), &r); err != nil {
				t.Fatal(err)
			}
			evs, batch, err := r.List()
			if c.err != "" {
				if err == nil || !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrRequest with %q", err, c.err)
				}
				return
			}
			if err != nil || len(evs) != c.n || batch != c.batch {
				t.Fatalf("List = %d events, batch %v, %v; want %d, %v", len(evs), batch, err, c.n, c.batch)
			}
		})
	}
}

func TestRequestEventMessage(t *testing.T) {
	var e RequestEvent
	if err := json.Unmarshal([]byte(`{"topic":"a","type":"t","data":null,"time":"2026-01-02T03:04:05Z","idempotency_key":"k"}`), &e); err != nil {
		t.Fatal(err)
	}
	m := e.Message()
	if m.Data != nil || m.Time.IsZero() || m.IdempotencyKey != "k" || m.Topic != "a" || m.Type != "t" {
		t.Fatalf("Message() = %+v: want null data dropped, time and key kept", m)
	}
}
