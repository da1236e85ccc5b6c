// Package webhookprom is the Prometheus implementation of webhook.Metrics.
// It lives apart from infra/webhook so that only the binaries serving
// /metrics (the relay) link client_golang; the ingest Lambda does not.
package webhookprom

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

// Metrics holds the webhook collectors:
// hookrelay_webhook_requests_total{source,status} and
// hookrelay_webhook_request_duration_seconds{source}. It satisfies
// webhook.Metrics and is safe for concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New creates the collectors and registers them with reg (nil: nowhere).
// Collectors already registered under the same names (a second Handler on
// the same registry, e.g. after a config reload) are reused.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_webhook_requests_total",
			Help: "Webhook deliveries by source and HTTP status answered.",
		}, []string{"source", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookrelay_webhook_request_duration_seconds",
			Help:    "Time from request to answer, including the publish.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"source"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = telemetry.Register(reg, m.requests); err != nil {
		return nil, fmt.Errorf("register hookrelay_webhook_requests_total: %w", err)
	}
	if m.latency, err = telemetry.Register(reg, m.latency); err != nil {
		return nil, fmt.Errorf("register hookrelay_webhook_request_duration_seconds: %w", err)
	}
	return m, nil
}

// Observe implements webhook.Metrics.
func (m *Metrics) Observe(source string, status int, d time.Duration) {
	m.requests.WithLabelValues(source, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(source).Observe(d.Seconds())
}
