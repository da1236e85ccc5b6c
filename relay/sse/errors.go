package sse

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
	"github.com/hookrelay/hookrelay/relay/api"
)

// fail writes the relay's JSON error shape (TEAM.md / docs/protocol.md):
// {"error":{"code","message","status"}}, with Retry-After when positive.
func (s *handler) fail(w http.ResponseWriter, _ *http.Request, status int, code, msg string, retryAfter time.Duration) {
	s.m.rejects.WithLabelValues(code).Inc()
	// The same catalogue rendering as every other route (relay/api).
	api.WriteError(w, &api.Error{Code: code, Status: status, Message: msg, RetryAfter: retryAfter})
}

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
