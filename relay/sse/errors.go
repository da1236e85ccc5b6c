package sse

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/telemetry"
)

// fail writes the relay's JSON error shape (TEAM.md / docs/protocol.md):
// {"error":{"code","message","status"}}, with Retry-After when positive.
func (s *handler) fail(w http.ResponseWriter, _ *http.Request, status int, code, msg string, retryAfter time.Duration) {
	s.m.rejects.WithLabelValues(code).Inc()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	body := map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}}
	_ = json.NewEncoder(w).Encode(body) // the status line is out; a broken peer is not our error
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
