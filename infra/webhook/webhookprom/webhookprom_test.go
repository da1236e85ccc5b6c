package webhookprom_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/infra/webhook/webhookprom"
)

var _ webhook.Metrics = (*webhookprom.Metrics)(nil)

// gather returns "name{label=value,...}" -> counter value or histogram
// sample count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}

func TestObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := webhookprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe("gh", 200, 3*time.Millisecond)
	m.Observe("gh", 200, 30*time.Millisecond)
	m.Observe("unknown", 404, time.Millisecond)
	got := gather(t, reg)
	want := map[string]float64{
		"hookrelay_webhook_requests_total{source=gh,status=200}":      2,
		"hookrelay_webhook_requests_total{source=unknown,status=404}": 1,
		"hookrelay_webhook_request_duration_seconds{source=gh}":       2,
		"hookrelay_webhook_request_duration_seconds{source=unknown}":  1,
	}
	if len(got) != len(want) {
		t.Errorf("gathered %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// A second set of collectors on the same registry (a second Handler after
// a config reload) shares the first one's series instead of failing.
func TestNewTwiceSharesCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := webhookprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := webhookprom.New(reg)
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	a.Observe("gh", 200, time.Millisecond)
	b.Observe("gh", 200, time.Millisecond)
	if got := gather(t, reg)["hookrelay_webhook_requests_total{source=gh,status=200}"]; got != 2 {
		t.Errorf("requests_total{gh,200} = %v, want 2", got)
	}
}

// A registry holding a different collector under the same name is an
// error naming the metric.
func TestNewConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hookrelay_webhook_requests_total", Help: "other"}))
	_, err := webhookprom.New(reg)
	if err == nil || !strings.Contains(err.Error(), "hookrelay_webhook_requests_total") {
		t.Fatalf("err = %v, want one naming hookrelay_webhook_requests_total", err)
	}
}

func TestNilRegisterer(t *testing.T) {
	m, err := webhookprom.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe("gh", 500, time.Second) // records into unregistered collectors
}
