package hub

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

// metrics are the hub's Prometheus collectors. They always exist (so the
// hot path never checks for nil) and are registered only with a Registerer.
type metrics struct {
	connections   *prometheus.GaugeVec
	subscriptions prometheus.Gauge
	deliveries    prometheus.Counter
	kicks         *prometheus.CounterVec
	rejected      prometheus.Counter
	queueDepth    prometheus.Histogram
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookrelay_connections", Help: "Open subscriber connections by transport.",
		}, []string{"transport"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookrelay_subscriptions", Help: "Topic subscriptions held by open connections.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_deliveries_total", Help: "Events written to subscriber connections.",
		}),
		kicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_kicks_total", Help: "Connections closed by the relay, by reason.",
		}, []string{"reason"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_connections_rejected_total", Help: "Connections refused at MaxConnections.",
		}),
		queueDepth: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookrelay_queue_depth",
			Help:    "Items a connection's writer found queued per write (batch size).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
	}
	if r != nil {
		m.connections = telemetry.Reuse(r, m.connections)
		m.subscriptions = telemetry.Reuse(r, m.subscriptions)
		m.deliveries = telemetry.Reuse(r, m.deliveries)
		m.kicks = telemetry.Reuse(r, m.kicks)
		m.rejected = telemetry.Reuse(r, m.rejected)
		m.queueDepth = telemetry.Reuse(r, m.queueDepth)
	}
	return m
}

// Deliveries counts n events written; sinks call it per batch.
func (c *Client) Deliveries(n int) { c.h.m.deliveries.Add(float64(n)) }
