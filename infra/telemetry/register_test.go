package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterReusesSameCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "hookrelay_test_total", Help: "h"}
	a, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil || b != a {
		t.Fatalf("second Register = %v, %v; want the first collector back", b, err)
	}
	b.Inc()
	if got := Reuse(reg, prometheus.NewCounter(opts)); got != a {
		t.Fatal("Reuse did not return the registered collector")
	}

	// Same name, different help: a conflict. Register reports it; Reuse
	// keeps the caller's own, unregistered collector.
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrelay_test_total", Help: "other"})
	if _, err := Register(reg, other); err == nil {
		t.Fatal("conflicting registration not reported")
	}
	if got := Reuse(reg, other); got != other {
		t.Fatal("Reuse on a conflict should return the caller's collector")
	}
}
