package sse

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

type metrics struct {
	streams prometheus.Counter
	rejects *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		streams: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookrelay_sse_streams_total", Help: "SSE streams started.",
		}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookrelay_sse_rejects_total", Help: "SSE requests refused before the stream started, by error code.",
		}, []string{"code"}),
	}
	if r != nil {
		m.streams = telemetry.Reuse(r, m.streams)
		m.rejects = telemetry.Reuse(r, m.rejects)
	}
	return m
}
