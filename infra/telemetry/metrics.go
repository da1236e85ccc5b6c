// Package telemetry is the Prometheus setup shared by the relay: one
// registry per process with consistent metric names. Logging lives in
// infra/logging, which the Lambdas link without Prometheus.
package telemetry

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every hookrelay metric: hookrelay_<subsystem>_<name>.
const Namespace = "hookrelay"

// NewRegistry returns a registry with the Go runtime and process
// collectors, for one binary's metrics. A registry per process (not the
// global default) keeps tests independent and wiring explicit.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// MetricsHandler serves reg in the Prometheus text (or OpenMetrics, when
// asked) format, counting its own scrapes and errors in reg.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
		// A failing collector should not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// Name returns the full metric name hookrelay_<subsystem>_<name>
// (subsystem may be empty), e.g. Name("relay", "connections") =
// "hookrelay_relay_connections".
func Name(subsystem, name string) string {
	return prometheus.BuildFQName(Namespace, subsystem, name)
}

// CounterOpts returns counter options under the hookrelay namespace.
// Counter names end in _total by Prometheus convention.
func CounterOpts(subsystem, name, help string) prometheus.CounterOpts {
	return prometheus.CounterOpts{Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help}
}

// GaugeOpts returns gauge options under the hookrelay namespace.
func GaugeOpts(subsystem, name, help string) prometheus.GaugeOpts {
	return prometheus.GaugeOpts{Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help}
}

// HistogramOpts returns histogram options under the hookrelay namespace;
// nil buckets means LatencyBuckets.
func HistogramOpts(subsystem, name, help string, buckets []float64) prometheus.HistogramOpts {
	if buckets == nil {
		buckets = LatencyBuckets()
	}
	return prometheus.HistogramOpts{Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help, Buckets: buckets}
}

// LatencyBuckets are seconds from 0.5 ms to 10 s: publish and delivery
// latencies of a push service live in the low milliseconds, with a tail to
// bus timeouts.
func LatencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// Register registers c with r or, when a collector with the same
// description is already there (two hubs or handlers in one process, tests
// building several), returns that one so both count into it. Other
// registration errors are returned with c.
func Register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	err := r.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// Reuse is Register for packages whose metrics are best effort: on a
// conflicting registration c stays unregistered and still counts, so the
// caller keeps working and only /metrics misses it.
func Reuse[C prometheus.Collector](r prometheus.Registerer, c C) C {
	got, err := Register(r, c)
	if err != nil {
		return c
	}
	return got
}
