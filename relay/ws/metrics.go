package ws

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

type metrics struct {
	conns   prometheus.Counter
	rejects *prometheus.CounterVec
	frames  *prometheus.CounterVec
	errors  *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		conns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_ws_connections_total", Help: "WebSocket connections upgraded.",
		}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_ws_rejects_total", Help: "WebSocket requests refused before the upgrade, by error code.",
		}, []string{"code"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_ws_frames_total", Help: "Valid client frames, by op.",
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_ws_errors_total", Help: "Error frames sent, by code.",
		}, []string{"code"}),
	}
	if r != nil {
		m.conns = telemetry.Reuse(r, m.conns)
		m.rejects = telemetry.Reuse(r, m.rejects)
		m.frames = telemetry.Reuse(r, m.frames)
		m.errors = telemetry.Reuse(r, m.errors)
	}
	return m
}
