package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

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
