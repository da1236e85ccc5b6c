package webhook

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
)

func githubSource() config.WebhookSource {
	return config.WebhookSource{Name: "gh", Provider: "github", Secrets: []string{"s3cret"}, Preset: "github", MaxBodyBytes: 64 << 10}
}

func githubHeaders(body []byte, event, delivery string) map[string]string {
	return map[string]string{"X-Hub-Signature-256": SignGitHub("s3cret", body), "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
}

func TestStatusCodes(t *testing.T) {
	f := newFixture(t, githubSource())
	push := readTestdata(t, "github_push.json")
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	huge := bytes.Repeat([]byte(" "), 64<<10+1)
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		status int
		code   string
	}{
		{"published", "POST", "/hooks/gh", push, githubHeaders(push, "push", "d1"), 200, ""},
		{"not post", "GET", "/hooks/gh", nil, nil, 405, "method_not_allowed"},
		{"unknown source", "POST", "/hooks/nope", push, githubHeaders(push, "push", "d1"), 404, "not_found"},
		{"traversal", "POST", "/hooks/..%2f..%2fetc%2fpasswd", push, nil, 404, "not_found"},
		{"too large", "POST", "/hooks/gh", huge, githubHeaders(huge, "push", "d2"), 413, "too_large"},
		{"bad signature", "POST", "/hooks/gh", push, githubHeaders([]byte("x"), "push", "d3"), 401, "unauthorized"},
		{"malformed", "POST", "/hooks/gh", []byte(`{"ref":`), githubHeaders([]byte(`{"ref":`), "push", "d4"), 400, "bad_request"},
		{"trailing data", "POST", "/hooks/gh", []byte(`{} {}`), githubHeaders([]byte(`{} {}`), "push", "d5"), 400, "bad_request"},
		{"invalid utf-8", "POST", "/hooks/gh", []byte("{\"ref\":\"\xff\"}"), githubHeaders([]byte("{\"ref\":\"\xff\"}"), "push", "d9"), 400, "bad_request"},
		{"deep nesting", "POST", "/hooks/gh", deep(), githubHeaders(deep(), "push", "d6"), 400, "bad_request"},
		{"no rule (ping)", "POST", "/hooks/gh", ping, githubHeaders(ping, "ping", "d7"), 202, ""},
		{"unmappable", "POST", "/hooks/gh", []byte(`{"repository":{"full_name":"a b/c"}}`),
			githubHeaders([]byte(`{"repository":{"full_name":"a b/c"}}`), "push", "d8"), 400, "bad_request"},
	}
	for _, c := range cases {
		a := f.do(t, c.method, c.path, c.body, c.hdr)
		if a.Status != c.status || a.Error.Code != c.code {
			t.Errorf("%s: got %d %q, want %d %q: %s", c.name, a.Status, a.Error.Code, c.status, c.code, a.Raw)
		}
		if strings.Contains(a.Raw, "passwd") || strings.Contains(a.Raw, "nope") {
			t.Errorf("%s: answer echoes the path: %s", c.name, a.Raw)
		}
	}
	if a := f.do(t, "GET", "/hooks/gh", nil, nil); a.Header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST")
	}
	if a := f.post(t, "gh", ping, githubHeaders(ping, "ping", "d7")); a.State != "ignored" {
		t.Errorf("202 body: %s", a.Raw)
	}
}

// deep is 60k nested arrays: the decoder must refuse it, not overflow.
func deep() []byte { return bytes.Repeat([]byte("["), 60_000) }

func TestUnsupportedMediaType(t *testing.T) {
	f := newFixture(t, githubSource())
	body := []byte(`<xml/>`)
	r := githubHeaders(body, "push", "x")
	r["Content-Type"] = "application/xml"
	if a := f.post(t, "gh", body, r); a.Status != 415 || a.Error.Code != "unsupported_media_type" {
		t.Fatalf("got %d %s", a.Status, a.Raw)
	}
}

func TestGitHubFormPayload(t *testing.T) {
	f := newFixture(t, githubSource())
	push := readTestdata(t, "github_push.json")
	form := []byte("payload=" + url.QueryEscape(string(push)))
	hdr := githubHeaders(form, "push", "form-1")
	hdr["Content-Type"] = "application/x-www-form-urlencoded"
	a := f.post(t, "gh", form, hdr)
	if a.Status != 200 || len(a.Events) != 1 || a.Events[0].Topic != "repo:Codertocat:hello-world.go" {
		t.Fatalf("got %d %s", a.Status, a.Raw)
	}
}

func TestDuplicateDelivery(t *testing.T) {
	src := config.WebhookSource{Name: "stripe", Provider: "stripe", Secrets: []string{"whsec_x"}, Preset: "stripe"}
	f := newFixture(t, src)
	body := readTestdata(t, "stripe_payment_intent_succeeded.json")
	first := f.post(t, "stripe", body, map[string]string{"Stripe-Signature": SignStripe("whsec_x", testNow, body)})
	if first.Status != 200 || len(first.Events) != 2 {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	// Stripe retries with a fresh timestamp and signature, same event id.
	again := f.post(t, "stripe", body, map[string]string{"Stripe-Signature": SignStripe("whsec_x", testNow.Add(time.Minute), body)})
	if again.Status != 200 || len(again.Events) != 2 {
		t.Fatalf("again: %d %s", again.Status, again.Raw)
	}
	for i := range first.Events {
		if first.Events[i].Duplicate || !again.Events[i].Duplicate ||
			first.Events[i].ID != again.Events[i].ID || first.Events[i].Topic != again.Events[i].Topic {
			t.Errorf("event %d: first %+v, again %+v", i, first.Events[i], again.Events[i])
		}
	}
	for _, topic := range topicsOf(first) {
		if n := len(f.history(t, topic)); n != 1 {
			t.Errorf("%s: %d events, want 1", topic, n)
		}
	}
}

func TestBusUnavailable(t *testing.T) {
	f := newFixture(t, githubSource())
	f.bus.Close()
	push := readTestdata(t, "github_push.json")
	a := f.post(t, "gh", push, githubHeaders(push, "push", "d1"))
	if a.Status != http.StatusServiceUnavailable || a.Error.Code != "bus_unavailable" || a.Header.Get("Retry-After") != "2" {
		t.Fatalf("got %d %s %v", a.Status, a.Raw, a.Header)
	}
}

func TestPathValue(t *testing.T) {
	f := newFixture(t, githubSource())
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{source}", f.h)
	push := readTestdata(t, "github_push.json")
	r, err := http.NewRequest("POST", "/webhooks/gh", bytes.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range githubHeaders(push, "push", "pv") {
		r.Header.Set(k, v)
	}
	w := newRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, githubSource())
	push := readTestdata(t, "github_push.json")
	f.post(t, "gh", push, githubHeaders(push, "push", "m1"))
	f.post(t, "gh", push, githubHeaders([]byte("x"), "push", "m2"))
	f.post(t, "other", push, nil)
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "hookrelay_webhook_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[strings.TrimSpace(key)] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"source=gh status=200": 1, "source=gh status=401": 1, "source=unknown status=404": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
