package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/webhook/webhookprom"
)

// testNow is the fixed clock of every test handler.
var testNow = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

type fixture struct {
	h   *Handler
	bus *memory.Bus
	reg *prometheus.Registry
}

func newFixture(t testing.TB, sources ...config.WebhookSource) *fixture {
	t.Helper()
	b := memory.New(bus.Options{})
	t.Cleanup(func() { b.Close() })
	reg := prometheus.NewRegistry()
	m, err := webhookprom.New(reg)
	if err != nil {
		t.Fatalf("webhookprom.New: %v", err)
	}
	h, err := New(context.Background(), sources, b, Options{
		Now:     func() time.Time { return testNow },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: m,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{h: h, bus: b, reg: reg}
}

type answer struct {
	Status int
	Header http.Header
	Events []bus.Receipt `json:"events"`
	State  string        `json:"status"`
	Error  struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
	Raw string
}

func (f *fixture) post(t testing.TB, source string, body []byte, hdr map[string]string) answer {
	t.Helper()
	return f.do(t, http.MethodPost, "/hooks/"+source, body, hdr)
}

func (f *fixture) do(t testing.TB, method, path string, body []byte, hdr map[string]string) answer {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	a := answer{Status: w.Code, Header: w.Header(), Raw: w.Body.String()}
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, w.Body.String())
	}
	if a.Status >= 400 && (a.Error.Code == "" || a.Error.Status != a.Status) {
		t.Fatalf("%s %s: error answer %d without code/status: %s", method, path, a.Status, a.Raw)
	}
	return a
}

// history returns the events of topic, oldest first.
func (f *fixture) history(t testing.TB, topic string) []map[string]any {
	t.Helper()
	page, err := f.bus.History(context.Background(), topic, "", 100)
	if err != nil {
		t.Fatalf("history %s: %v", topic, err)
	}
	out := make([]map[string]any, len(page.Events))
	for i, d := range page.Events {
		if err := json.Unmarshal(d.JSON, &out[i]); err != nil {
			t.Fatalf("event JSON: %v", err)
		}
	}
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func topicsOf(a answer) []string {
	out := make([]string, len(a.Events))
	for i, e := range a.Events {
		out[i] = e.Topic
	}
	return out
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRequestWithBasic(userPass string) string {
	r := httptest.NewRequest("POST", "/", nil)
	user, pass, _ := strings.Cut(userPass, ":")
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}
