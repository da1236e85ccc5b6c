package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/devmode"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// The Grafana dashboard and the Prometheus alert rules shipped in
// docs/monitoring.
const (
	dashboardPath = "../docs/monitoring/hookrelay-dashboard.json"
	alertsPath    = "../docs/monitoring/hookrelay-alerts.yml"
)

// prometheusUp is the series Prometheus makes itself for every target.
const prometheusUp = "up"

var metricRef = regexp.MustCompile(`\b(hookrelay_[a-z0-9_]+|[a-z_]+_(?:total|seconds|bytes|bucket))\b|\bup\{`)

// monitoringRefs returns every metric name the dashboard and the rules
// use.
func monitoringRefs(t *testing.T) []string {
	t.Helper()
	var refs []string
	for _, p := range []string{dashboardPath, alertsPath} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRef.FindAllString(string(b), -1) {
			m = strings.TrimSuffix(m, "{")
			if !slices.Contains(refs, m) {
				refs = append(refs, m)
			}
		}
	}
	slices.Sort(refs)
	return refs
}

// TestMonitoringMetricsExist scrapes a real relay (relay dev on Redis,
// after webhooks, publishes, SSE and WebSocket connections and refusals)
// and checks every metric the dashboard and the alert rules name is one
// it exports: a renamed metric breaks this test, not a dashboard nobody
// looks at until the night it matters.
func TestMonitoringMetricsExist(t *testing.T) {
	refs := monitoringRefs(t)
	if len(refs) < 10 {
		t.Fatalf("found only %d metric names in the dashboard and rules: %v (the pattern is broken)", len(refs), refs)
	}
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: srv.URL()})
	driveTraffic(t, r)
	exported := scrapeNames(t, r.URL+"/metrics")
	for _, m := range refs {
		if m == prometheusUp {
			continue
		}
		if !slices.Contains(exported, m) {
			t.Errorf("%s is used by docs/monitoring but the relay does not export it", m)
		}
	}
}

// driveTraffic makes every metric family the monitoring uses appear.
func driveTraffic(t *testing.T, r *relaytest.Relay) {
	t.Helper()
	sub := subscribe(t, r.URL, client.SSE, "", "order:1042")
	ws := subscribe(t, r.URL, client.WebSocket, "", "order:1042")
	sub.waitOpen(t, 1)
	ws.waitOpen(t, 1)
	r.Publish(t, client.Message{Topic: "order:1042", Type: "order.note", Data: []byte(`{"n":1}`)})
	sub.waitEvents(t, 1, 10*time.Second)
	body := []byte(`{"order_id":1042,"id":1,"status":"success","shipment_status":"in_transit"}`)
	for _, sig := range []string{webhook.SignShopify(devmode.ShopifySecret, body), "bad"} {
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/hooks/shopify", bytes.NewReader(body))
		req.Header.Set("X-Shopify-Topic", "fulfillments/update")
		req.Header.Set("X-Shopify-Hmac-Sha256", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	// An SSE refusal (bad topic) for the refusals panel.
	res, err := http.Get(r.URL + "/v1/sse?topic=" + strings.Repeat("x", 300))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

func scrapeNames(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// TestMonitoringRulesPromtool runs `promtool check rules` on the alert
// rules where promtool is installed (Debian: apt-get install prometheus,
// or HOOKRELAY_PROMTOOL=/path/to/promtool).
func TestMonitoringRulesPromtool(t *testing.T) {
	tool := os.Getenv("HOOKRELAY_PROMTOOL")
	if tool == "" {
		var err error
		if tool, err = exec.LookPath("promtool"); err != nil {
			t.Skip("promtool not installed (Debian package prometheus, or set HOOKRELAY_PROMTOOL); skipping `promtool check rules`")
		}
	}
	abs, err := filepath.Abs(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "check", "rules", abs).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertsPath, err, out)
	}
	t.Logf("%s", out)
}
