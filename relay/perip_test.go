package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestPerIPSlotFreedOnHangup guards I9 of the 2026-12 review: a stream
// whose client went away (a reload, a closed tab) gives its per-IP slot
// back when the socket closes, not at the next heartbeat write, so the
// client's own reconnect is not refused by its ghost. The heartbeat here
// is 50 s and the reconnect must get through within 10 s.
func TestPerIPSlotFreedOnHangup(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev",
		Env: []string{"HOOKRELAY_CONNECTIONS_PER_IP=1", "HOOKRELAY_HEARTBEAT=50s"}})
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	url := r.URL + "/v1/sse?topic=order:1"

	first, ok := openStream(t, tr, url)
	if !ok {
		t.Fatal("the first stream was refused")
	}
	if s, ok := openStream(t, tr, url); ok {
		s.Body.Close()
		t.Fatal("a second stream from the same address was accepted with connections_per_ip=1")
	}
	first.Body.Close() // the client goes away: its socket closes

	deadline := time.Now().Add(10 * time.Second)
	retry := time.NewTicker(20 * time.Millisecond) // a client's retry interval
	defer retry.Stop()
	for {
		s, ok := openStream(t, tr, url)
		if ok {
			s.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the reconnect was still refused 10 s after the first stream's client went away: its slot waits for the heartbeat")
		}
		<-retry.C
	}
}

// openStream opens an SSE stream and reports whether the relay accepted
// it (a refusal is a complete body with a close event); an accepted
// stream's body is left open for the caller.
func openStream(t *testing.T, tr *http.Transport, url string) (*http.Response, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if res.ContentLength < 0 { // chunked: a live stream
		res.Body = closeWith{res.Body, cancel}
		return res, true
	}
	defer cancel()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || !strings.Contains(string(b), `"reason":"rate_limited"`) {
		t.Fatalf("refused stream: %q, %v", b, err)
	}
	return nil, false
}

type closeWith struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c closeWith) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
