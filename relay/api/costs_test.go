package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/relay/api"
)

// H1/H2 (security review 2026-12): the read routes had no rate limit, so
// one subject's request loop was only bounded by Redis. Each read now takes
// a token of the subject's read rate.
func TestReadRoutesRateLimited(t *testing.T) {
	f := newFixture(t, fixtureOpts{deps: func(d *api.Deps) { d.ReadLimit = limit.NewKeyed(0.001, 2, time.Minute) }})
	alice := mint(t, "alice", []string{"inbox:*"}, nil)
	bob := mint(t, "bob", []string{"inbox:*"}, nil)
	for _, path := range []string{"/v1/topics/inbox:1/unread", "/v1/topics/inbox:1/events"} {
		if status, _, b := f.request(t, "GET", path, alice, "", ""); status != 200 {
			t.Fatalf("%s: %d %s", path, status, b)
		}
	}
	status, hdr, b := f.request(t, "PUT", "/v1/topics/inbox:1/read", alice, "application/json", `{"id":"1-0"}`)
	if code, _ := errorCode(t, b); status != 429 || code != api.CodeRateLimited || hdr.Get("Retry-After") == "" {
		t.Fatalf("third read of alice: %d %s", status, b)
	}
	if status, _, b := f.request(t, "GET", "/v1/topics/inbox:1/unread", bob, "", ""); status != 200 {
		t.Fatalf("bob: %d %s", status, b)
	}
}

// H2: concurrent history work is bounded per subject (429) and per node
// (503 over_capacity). The slots are held from outside, as a running
// request would hold them.
func TestHistoryConcurrencySlots(t *testing.T) {
	subj, node := limit.NewConcurrent(1), limit.NewConcurrent(2)
	f := newFixture(t, fixtureOpts{deps: func(d *api.Deps) { d.HistorySubjectSlots, d.HistoryNodeSlots = subj, node }})
	alice := mint(t, "alice", []string{"inbox:*"}, nil)
	bob := mint(t, "bob", []string{"inbox:*"}, nil)
	held, _ := subj.Acquire("alice")
	status, _, b := f.request(t, "GET", "/v1/topics/inbox:1/events", alice, "", "")
	if code, _ := errorCode(t, b); status != 429 || code != api.CodeRateLimited {
		t.Fatalf("alice with her slot taken: %d %s", status, b)
	}
	held()
	n1, _ := node.Acquire("node")
	n2, _ := node.Acquire("node")
	status, hdr, b := f.request(t, "GET", "/v1/topics/inbox:1/events", bob, "", "")
	if code, _ := errorCode(t, b); status != 503 || code != api.CodeOverCapacity || hdr.Get("Retry-After") == "" {
		t.Fatalf("bob with the node's slots taken: %d %s", status, b)
	}
	n1()
	n2()
	if status, _, b := f.request(t, "GET", "/v1/topics/inbox:1/events", bob, "", ""); status != 200 {
		t.Fatalf("bob after release: %d %s", status, b)
	}
	// A refused request released the subject slot it took.
	if status, _, b := f.request(t, "GET", "/v1/topics/inbox:1/events", bob, "", ""); status != 200 {
		t.Fatalf("bob again: %d %s", status, b)
	}
}

// H2: history pages stop at the byte bound and say where to go on.
func TestHistoryPageNext(t *testing.T) {
	f := newFixture(t, fixtureOpts{busOpts: bus.Options{HistoryPageBytes: 40 << 10}})
	alice := mint(t, "alice", []string{"big:*"}, nil)
	data := `"` + strings.Repeat("x", 10<<10) + `"`
	evs := make([]string, 10)
	for i := range evs {
		evs[i] = `{"topic":"big:1","type":"t","data":` + data + `}`
	}
	status, _, b := f.request(t, "POST", api.PublishPath, apiKey, "application/json", `{"events":[`+strings.Join(evs, ",")+`]}`)
	if status != 200 {
		t.Fatalf("publish: %d %s", status, b)
	}
	var pub struct{ Events []struct{ ID string } }
	if err := json.Unmarshal([]byte(b), &pub); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Events []struct{ ID string }
		More   bool
		Next   string
	}
	status, _, b = f.request(t, "GET", "/v1/topics/big:1/events?limit=1000&after="+pub.Events[0].ID, alice, "", "")
	if err := json.Unmarshal([]byte(b), &page); status != 200 || err != nil {
		t.Fatalf("history: %d %s", status, b[:min(len(b), 200)])
	}
	if !page.More || len(page.Events) == 0 || len(page.Events) > 4 || page.Next != page.Events[len(page.Events)-1].ID {
		t.Fatalf("page: %d events, more %v, next %q", len(page.Events), page.More, page.Next)
	}
}

// publishAs publishes one event with an idempotency key and returns its id
// and whether it was a duplicate.
func publishAs(t *testing.T, f *fixture, cred, topic, key string) (int, string, bool) {
	t.Helper()
	status, _, b := f.request(t, "POST", api.PublishPath, cred, "application/json",
		fmt.Sprintf(`{"topic":%q,"type":"chat.message","idempotency_key":%q}`, topic, key))
	var out struct {
		Events []struct {
			ID        string
			Duplicate bool
		}
	}
	if status != 200 {
		return status, b, false
	}
	if err := json.Unmarshal([]byte(b), &out); err != nil || len(out.Events) != 1 {
		t.Fatalf("publish answer %s", b)
	}
	return status, out.Events[0].ID, out.Events[0].Duplicate
}

// L1: idempotency keys are per publisher: Mallory pre-claiming Alice's next
// key does not drop Alice's message. The same publisher's retry is still a
// duplicate.
func TestIdempotencyKeysScopedByPublisher(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	alice := mint(t, "alice", []string{"room:*"}, []string{"room:*"})
	mallory := mint(t, "mallory", []string{"room:*"}, []string{"room:*"})
	_, mid, _ := publishAs(t, f, mallory, "room:d1", "alice-msg-1")
	_, aid, dup := publishAs(t, f, alice, "room:d1", "alice-msg-1")
	if dup || aid == mid {
		t.Fatalf("alice's message was taken as mallory's (%s) duplicate", mid)
	}
	if _, again, dup := publishAs(t, f, alice, "room:d1", "alice-msg-1"); !dup || again != aid {
		t.Fatalf("alice's retry: %s duplicate %v; want %s duplicate", again, dup, aid)
	}
}

// L2: a token whose subject is "apikey:backend" has its own bucket, not
// API key backend's.
func TestTokenSubjectCannotDrainAPIKeyBucket(t *testing.T) {
	f := newFixture(t, fixtureOpts{limiter: limit.NewKeyed(0.001, 1, time.Minute)})
	fake := mint(t, "apikey:backend", nil, []string{"room:*"})
	if status, b, _ := publishAs(t, f, fake, "room:1", ""); status != 200 {
		t.Fatalf("token publish: %d %s", status, b)
	}
	if status, b, _ := publishAs(t, f, apiKey, "room:1", ""); status != 200 {
		t.Fatalf("API key after the token: %d %s", status, b)
	}
}

// M2: a token publisher's keys live TokenDedupTTL, not the bus's 24 h, and
// its own rate and distinct-topics budget apply.
func TestTokenPublishPolicy(t *testing.T) {
	f := newFixture(t, fixtureOpts{deps: func(d *api.Deps) {
		d.Policy = api.PublishPolicy{
			TokenDedupTTL: time.Millisecond,
			TokenLimit:    limit.NewKeyed(1000, 1000, time.Minute),
			TokenTopics:   limit.NewTopics(3, time.Hour),
		}
	}})
	m := mint(t, "mallory", []string{"room:*"}, []string{"room:*"})
	_, first, _ := publishAs(t, f, m, "room:1", "k")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, id, dup := publishAs(t, f, m, "room:1", "k")
		if !dup && id != first {
			break // the key expired after TokenDedupTTL
		}
		if time.Now().After(deadline) {
			t.Fatal("a token publisher's idempotency key outlived TokenDedupTTL by 10 s")
		}
	}
	for _, topic := range []string{"room:2", "room:3"} {
		if status, b, _ := publishAs(t, f, m, topic, ""); status != 200 {
			t.Fatalf("%s: %d %s", topic, status, b)
		}
	}
	status, b, _ := publishAs(t, f, m, "room:4", "")
	if code, _ := errorCode(t, b); status != 429 || code != api.CodeRateLimited {
		t.Fatalf("fourth distinct topic: %d %s", status, b)
	}
	if status, b, _ := publishAs(t, f, apiKey, "room:5", ""); status != 200 {
		t.Fatalf("API keys have no topic budget: %d %s", status, b)
	}
}

// M4: only refused deliveries (401, 413) spend the address's webhook
// failure budget; accepted and otherwise answered deliveries never do, so
// a sender whose signatures verify is never limited. The hooks handler
// here answers the status the path names (the real one is exercised in
// relay/internal/hostile TestWebhookFailureLimit).
func TestHookFailuresChargeOnlyRefusals(t *testing.T) {
	hooks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("source"))
		w.WriteHeader(code)
	})
	lim := limit.NewKeyed(0.001, 2, time.Minute)
	f := newFixture(t, fixtureOpts{deps: func(d *api.Deps) { d.Hooks, d.HookFailures = hooks, lim }})
	for range 10 {
		for _, code := range []string{"200", "202", "400", "404", "503"} {
			if status, _, b := f.request(t, "POST", "/hooks/"+code, "", "", "{}"); status != mustAtoi(t, code) {
				t.Fatalf("/hooks/%s: %d %s", code, status, b)
			}
		}
	}
	for _, code := range []string{"401", "413"} {
		if status, _, b := f.request(t, "POST", "/hooks/"+code, "", "", "{}"); status != mustAtoi(t, code) {
			t.Fatalf("/hooks/%s: %d %s", code, status, b)
		}
	}
	status, hdr, b := f.request(t, "POST", "/hooks/200", "", "", "{}")
	if code, _ := errorCode(t, b); status != 429 || code != api.CodeRateLimited || hdr.Get("Retry-After") == "" {
		t.Fatalf("after two refusals: %d %s", status, b)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// M4: once an address has failed, concurrent deliveries cannot all pass
// on its last tokens: each holds one while it runs. With 2 tokens left, 5
// concurrent forged deliveries get 2 handler runs and 3 answers of 429.
func TestHookFailuresHoldUnderConcurrency(t *testing.T) {
	gate, entered := make(chan struct{}), make(chan struct{}, 5)
	hooks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("source") == "slow" {
			entered <- struct{}{}
			<-gate
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	lim := limit.NewKeyed(0.001, 3, time.Minute)
	f := newFixture(t, fixtureOpts{deps: func(d *api.Deps) { d.Hooks, d.HookFailures = hooks, lim }})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(release) // registered after the server's Close, so it runs first
	if status, _, b := f.request(t, "POST", "/hooks/fast", "", "", "{}"); status != 401 {
		t.Fatalf("first failure: %d %s", status, b)
	}
	answers := make(chan int, 5)
	for range 5 {
		go func() { // not f.request: t.Fatal belongs to the test goroutine
			resp, err := http.Post(f.srv.URL+"/hooks/slow", "application/json", strings.NewReader("{}"))
			if err != nil {
				answers <- 0
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	ran, refused := 0, 0
	timeout := time.After(10 * time.Second)
	for ran < 2 || refused < 3 {
		select {
		case <-entered:
			if ran++; ran > 2 {
				t.Fatalf("%d concurrent deliveries ran on 2 tokens", ran)
			}
		case status := <-answers:
			if status != 429 {
				t.Fatalf("a delivery over the budget got %d, want 429", status)
			}
			refused++
		case <-timeout:
			t.Fatalf("after 10 s: %d ran, %d refused; want 2 and 3", ran, refused)
		}
	}
	release()
	for range 2 {
		if status := <-answers; status != 401 {
			t.Fatalf("a held delivery got %d, want 401", status)
		}
	}
	if status, _, b := f.request(t, "POST", "/hooks/fast", "", "", "{}"); status != 429 {
		t.Fatalf("after the budget is spent: %d %s", status, b)
	}
}

// M2 (rest): token publishers' idempotency keys are at most 64 bytes; API
// keys keep 200. Nothing is published when a key is refused.
func TestTokenIdempotencyKeyLength(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	m := mint(t, "mallory", []string{"room:*"}, []string{"room:*"})
	if status, b, _ := publishAs(t, f, m, "room:1", strings.Repeat("k", api.MaxTokenIdempotencyKeyLen)); status != 200 {
		t.Fatalf("token, %d-byte key: %d %s", api.MaxTokenIdempotencyKeyLen, status, b)
	}
	status, b, _ := publishAs(t, f, m, "room:1", strings.Repeat("k", api.MaxTokenIdempotencyKeyLen+1))
	if code, msg := errorCode(t, b); status != 400 || code != api.CodeBadRequest || !strings.Contains(msg, "idempotency_key") {
		t.Fatalf("token, %d-byte key: %d %s", api.MaxTokenIdempotencyKeyLen+1, status, b)
	}
	if status, b, _ := publishAs(t, f, apiKey, "room:1", strings.Repeat("k", bus.MaxIdempotencyKeyLen)); status != 200 {
		t.Fatalf("API key, %d-byte key: %d %s", bus.MaxIdempotencyKeyLen, status, b)
	}
	page, err := f.bus.History(context.Background(), "room:1", "", 10)
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("room:1 holds %d events (%v), want 2: the refused publish added none", len(page.Events), err)
	}
}
