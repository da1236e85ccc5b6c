package api

import (
	"context"
	"net/http"
)

// healthz answers 200 while the process serves HTTP at all: the liveness
// probe. It checks nothing else, so a Redis outage never restarts relays.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	// writeJSON cannot fail for a map of strings.
	_ = writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 while this node should get new connections: the load
// balancer's health check. 503 while draining (so the target deregisters
// before connections are closed), while the bus is unavailable, or at the
// connection cap.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	status, msg := "ready", ""
	switch {
	case s.Draining():
		status, msg = "draining", "shutting down: new connections go to other nodes"
	case s.Hub != nil && s.Hub.OverCapacity():
		status, msg = "over_capacity", "at the connection limit (HOOKRELAY_MAX_CONNECTIONS)"
	default:
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.Bus.Ready(ctx); err != nil {
			s.countBusErr("ready", err)
			status, msg = "bus_unavailable", err.Error()
		}
	}
	body := map[string]any{"status": status}
	code := http.StatusOK
	if status != "ready" {
		code = http.StatusServiceUnavailable
		body["message"] = msg
		w.Header().Set("Retry-After", "5")
	}
	if s.Hub != nil {
		body["connections"] = s.Hub.Connections()
	}
	// writeJSON cannot fail for these values.
	_ = writeJSON(w, code, body)
}
