package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/relay/api"
)

// BenchmarkPublishHandler: CPU and allocations of POST /v1/publish in the
// handler (API key, relaybench's ~60-byte event, memory bus, no HTTP
// connection): what the relay adds per publish to net/http and the bus.
func BenchmarkPublishHandler(b *testing.B) {
	mb := memory.New(bus.Options{})
	b.Cleanup(func() { mb.Close() })
	keys, err := auth.NewAPIKeys([]auth.APIKey{{Name: "backend", Key: apiKey}})
	if err != nil {
		b.Fatal(err)
	}
	h := api.New(api.Deps{Bus: mb, Hub: &capacity{}, Auth: auth.AllowAll{}, APIKeys: keys})
	const body = `{"topic":"bench:p0","type":"bench.event","data":{"n":1,"msg":"hello world, a sixty-byte event"}}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, api.PublishPath, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+apiKey)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
