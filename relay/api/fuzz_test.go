package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/relay/api"
)

// FuzzPublishBody feeds arbitrary bodies to POST /v1/publish: the answer is
// always 200 (with one result per event) or a catalogue error (400, 413),
// never a 500 or a panic, and always valid JSON.
func FuzzPublishBody(f *testing.F) {
	for _, s := range []string{
		`{"topic":"order:1","type":"order.shipped","data":{"n":1}}`,
		`{"events":[{"topic":"a","type":"t"},{"topic":"b:c","type":"u","data":[1,2],"idempotency_key":"k"}]}`,
		`{"topic":"a","type":"t","time":"2026-01-02T03:04:05Z","source":"s"}`,
		`{"events":null}`,
		`{"topic":"a b","type":"t"}`,
		`[]`,
	} {
		f.Add(s)
	}
	b := memory.New(bus.Options{})
	defer b.Close()
	h := api.New(api.Deps{Bus: b, Auth: auth.AllowAll{}, MaxBodyBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, api.PublishPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer %d is not JSON: %q", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			var out struct{ Events []struct{ ID, Topic string } }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Events) == 0 {
				t.Fatalf("200 without events: %q", rec.Body.String())
			}
			for _, e := range out.Events {
				if e.ID == "" || e.Topic == "" {
					t.Fatalf("result without id/topic: %q", rec.Body.String())
				}
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
