package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// metrics are the API's Prometheus series (docs/operations.md lists them).
type metrics struct {
	publishSeconds *prometheus.HistogramVec
	published      prometheus.Counter
	busErrors      *prometheus.CounterVec
	errors         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		publishSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookrelay_api_publish_duration_seconds",
			Help:    "Time the bus took to accept a POST /v1/publish batch, by outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"outcome"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_api_published_events_total",
			Help: "Events accepted through POST /v1/publish (duplicates included).",
		}),
		busErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_api_bus_errors_total",
			Help: "Bus calls of the HTTP API that failed because the bus was unavailable, by operation.",
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_api_errors_total",
			Help: "Error answers of the HTTP API by error code.",
		}, []string{"code"}),
	}
	if reg != nil {
		reg.MustRegister(m.publishSeconds, m.published, m.busErrors, m.errors)
	}
	return m
}

func (m *metrics) observePublish(d time.Duration, n int, err error) {
	outcome := "ok"
	switch {
	case bus.Retryable(err):
		outcome = "unavailable"
	case err != nil:
		outcome = "error"
	}
	m.publishSeconds.WithLabelValues(outcome).Observe(d.Seconds())
	m.published.Add(float64(n))
}
