package telemetry

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger("warn", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "topic", "order:1", "token", "eyJsecret", "redis_password", "pw", slog.Group("req", "authorization", "Bearer x"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line at warn, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "shown" || rec["level"] != "WARN" || rec["topic"] != "order:1" {
		t.Errorf("record %v", rec)
	}
	if rec["token"] != Redacted || rec["redis_password"] != Redacted || rec["req"].(map[string]any)["authorization"] != Redacted {
		t.Errorf("credentials not redacted: %v", rec)
	}
	if strings.Contains(buf.String(), "eyJsecret") || strings.Contains(buf.String(), "Bearer") {
		t.Errorf("secret in log: %s", buf.String())
	}
}

func TestNewLoggerText(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger("DEBUG", "text", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("dbg", "k", "v")
	if !strings.Contains(buf.String(), "level=DEBUG msg=dbg k=v") {
		t.Errorf("text %q", buf.String())
	}
}

func TestNewLoggerErrors(t *testing.T) {
	if _, err := NewLogger("loud", "json", io.Discard); err == nil || !strings.Contains(err.Error(), `log level "loud"`) {
		t.Errorf("level: %v", err)
	}
	if _, err := NewLogger("info", "xml", io.Discard); err == nil || !strings.Contains(err.Error(), `log format "xml"`) {
		t.Errorf("format: %v", err)
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "Warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := NewRegistry()
	deliveries := prometheus.NewCounterVec(CounterOpts("relay", "deliveries_total", "events written to clients"), []string{"transport"})
	latency := prometheus.NewHistogram(HistogramOpts("bus", "publish_seconds", "publish latency", nil))
	conns := prometheus.NewGauge(GaugeOpts("relay", "connections", "open connections"))
	reg.MustRegister(deliveries, latency, conns)
	deliveries.WithLabelValues("sse").Add(3)
	latency.Observe(0.002)
	conns.Set(7)

	srv := httptest.NewServer(MetricsHandler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`hookrelay_relay_deliveries_total{transport="sse"} 3`,
		"hookrelay_relay_connections 7",
		`hookrelay_bus_publish_seconds_bucket{le="0.0025"} 1`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics miss %q", want)
		}
	}
	if Name("relay", "connections") != "hookrelay_relay_connections" || Name("", "up") != "hookrelay_up" {
		t.Errorf("Name: %q %q", Name("relay", "connections"), Name("", "up"))
	}
	// Registries are independent: a second one does not see these metrics.
	if n := countMetric(t, NewRegistry(), "hookrelay_relay_connections"); n != 0 {
		t.Errorf("fresh registry has %d hookrelay metrics", n)
	}
}

func countMetric(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == name {
			n++
		}
	}
	return n
}
