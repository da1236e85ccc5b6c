package presence

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

// metrics always exist (no nil checks) and are registered only with a
// Registerer.
type metrics struct {
	topics      prometheus.Gauge
	errors      prometheus.Counter
	syncSeconds prometheus.Histogram
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		topics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookrelay_presence_topics", Help: "Topics with presence members or watchers on this node.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_presence_errors_total", Help: "Failed presence syncs and snapshots (retried next interval).",
		}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookrelay_presence_sync_seconds",
			Help:    "Duration of one batched presence sync with the store.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	if r != nil {
		m.topics = telemetry.Reuse(r, m.topics)
		m.errors = telemetry.Reuse(r, m.errors)
		m.syncSeconds = telemetry.Reuse(r, m.syncSeconds)
	}
	return m
}
