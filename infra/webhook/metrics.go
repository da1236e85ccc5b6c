package webhook

import "time"

// Metrics records each answered delivery. It is an interface, not a
// Prometheus registry, so the Lambda bootstraps (which serve no /metrics)
// do not link client_golang and protobuf: infra/webhook/webhookprom
// is the Prometheus implementation the relay wires in.
type Metrics interface {
	// Observe records one answer: the source name ("unknown" for a name
	// that is not configured, so callers cannot grow the label set), the
	// HTTP status written and the time from request to answer.
	Observe(source string, status int, d time.Duration)
}

// noMetrics is the Metrics of a Handler built without Options.Metrics.
type noMetrics struct{}

func (noMetrics) Observe(string, int, time.Duration) {}
