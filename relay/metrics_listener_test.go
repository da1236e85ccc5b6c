package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

const metricsToken = "metrics-token-0123456789"

// TestMetricsOnOwnListener guards I5 of the 2026-12 review: with
// metrics_addr the public listener no longer serves /metrics, the metrics
// listener does, and metrics_token is required on it.
func TestMetricsOnOwnListener(t *testing.T) {
	// Both ports are picked before the relay starts: two FreeAddr calls
	// may be handed the same port (each closes its listener), and the
	// relay refuses metrics on its own address.
	addr, maddr := relaytest.FreeAddr(t), relaytest.FreeAddr(t)
	for maddr == addr {
		maddr = relaytest.FreeAddr(t)
	}
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", Addr: addr, RedisURL: redistest.Start(t).URL(),
		Env: []string{"HOOKRELAY_METRICS_ADDR=" + maddr, "HOOKRELAY_METRICS_TOKEN=" + metricsToken}})
	if code, _, body := call(t, "GET", r.URL+"/metrics", metricsToken, "", ""); code == http.StatusOK && strings.Contains(body, "# HELP") {
		t.Fatal("the public listener still serves /metrics")
	}
	murl := "http://" + maddr + "/metrics"
	if code, _, body := call(t, "GET", murl, "", "", ""); code != http.StatusUnauthorized || errCode(t, body) != "unauthorized" {
		t.Fatalf("metrics without the token: %d %s", code, body)
	}
	if code, _, _ := call(t, "GET", murl, "wrong-token-0123456789", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("metrics with a wrong token: %d", code)
	}
	code, _, body := call(t, "GET", murl, metricsToken, "", "")
	if code != http.StatusOK || !strings.Contains(body, "hookrelay_") {
		t.Fatalf("metrics with the token: %d %.200s", code, body)
	}
	// Only /metrics lives there: the API does not leak onto it.
	if code, _, _ := call(t, "GET", "http://"+maddr+"/readyz", "", "", ""); code != http.StatusNotFound {
		t.Fatalf("/readyz on the metrics listener: %d, want 404", code)
	}
}

// TestMetricsTokenOnPublicListener: without metrics_addr, /metrics stays
// on the public listener (existing deployments keep scraping it), and
// metrics_token protects it there.
func TestMetricsTokenOnPublicListener(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: redistest.Start(t).URL(), Env: []string{"HOOKRELAY_METRICS_TOKEN=" + metricsToken}})
	if code, _, _ := call(t, "GET", r.URL+"/metrics", "", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("metrics without the token: %d", code)
	}
	if code, _, body := call(t, "GET", r.URL+"/metrics", metricsToken, "", ""); code != http.StatusOK || !strings.Contains(body, "hookrelay_") {
		t.Fatalf("metrics with the token: %d %.200s", code, body)
	}
}
