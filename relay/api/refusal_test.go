package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/relay/api"
)

// refuser is a transport that records the refusals it is handed.
type refuser struct {
	mu   sync.Mutex
	got  []api.Refusal
	hold chan struct{} // a stream that was admitted waits here
}

func (r *refuser) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	<-r.hold
}

func (r *refuser) Refuse(w http.ResponseWriter, _ *http.Request, rf *api.Refusal) {
	r.mu.Lock()
	r.got = append(r.got, *rf)
	r.mu.Unlock()
	w.WriteHeader(299) // marks "spoken by the transport"
}

func (r *refuser) last() api.Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// TestCapacityRefusalsGoToTheTransport: a transport that speaks refusals
// (relay/sse, relay/ws) gets the node's and the address's cap as a
// retryable Refusal instead of the 503/429 JSON that EventSource would
// take as final; one without it still gets the JSON error.
func TestCapacityRefusalsGoToTheTransport(t *testing.T) {
	b := memory.New(bus.Options{})
	defer b.Close()
	capy := &capacity{}
	tr := &refuser{hold: make(chan struct{})}
	srv := httptest.NewServer(api.New(api.Deps{Bus: b, Hub: capy, Auth: auth.AllowAll{}, SSE: tr,
		WS: http.NotFoundHandler(), ConnLimit: limit.NewConcurrent(1)}))
	defer srv.Close()
	defer close(tr.hold) // before srv.Close, which waits for the held stream

	capy.over.Store(true)
	status := get(t, srv.URL+api.SSEPath+"?topic=a")
	if rf := tr.last(); status != 299 || rf.Reason != api.RefuseOverCapacity || rf.Code != 1013 || rf.Retry < 5*time.Second || rf.Retry >= 10*time.Second {
		t.Fatalf("over capacity: status %d, refusal %+v", status, rf)
	}
	if status := get(t, srv.URL+api.WSPath); status != http.StatusServiceUnavailable {
		t.Fatalf("a transport without Refuse: %d, want the 503 JSON error", status)
	}
	capy.over.Store(false)

	resp, err := http.Get(srv.URL + api.SSEPath + "?topic=a") // holds the address's one slot
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	status = get(t, srv.URL+api.SSEPath+"?topic=a")
	if rf := tr.last(); status != 299 || rf.Reason != api.RefuseRateLimited || rf.Code != 4029 || rf.Retry < 10*time.Second {
		t.Fatalf("per-address cap: status %d, refusal %+v", status, rf)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRefusalDelays: each reason's delay is jittered within [base, 2·base)
// (the base grows with the reason); the close text carries it.
func TestRefusalDelays(t *testing.T) {
	for _, c := range []struct {
		reason string
		code   int
		base   time.Duration
	}{
		{api.RefuseRestart, 1012, time.Second},
		{api.RefuseBusUnavailable, 1013, 2 * time.Second},
		{api.RefuseOverCapacity, 1013, 5 * time.Second},
		{api.RefuseRateLimited, 4029, 10 * time.Second},
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			rf := api.NewRefusal(c.reason)
			if rf.Code != c.code || rf.Retry < c.base || rf.Retry >= 2*c.base {
				t.Fatalf("%s: %+v", c.reason, rf)
			}
			if !strings.HasPrefix(rf.Text(), c.reason+";retry=") {
				t.Fatalf("%s: close text %q", c.reason, rf.Text())
			}
			seen[rf.Retry] = true
		}
		if len(seen) < 10 {
			t.Fatalf("%s: %d distinct delays in 50, want jitter", c.reason, len(seen))
		}
	}
}
