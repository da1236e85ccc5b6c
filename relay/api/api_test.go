package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/relay/api"
)

const (
	tokenKey = "api-test-token-key-0123456789abcdef"
	apiKey   = "api-test-key"
)

// capacity is a settable hub stand-in for readiness tests.
type capacity struct{ over atomic.Bool }

func (c *capacity) OverCapacity() bool { return c.over.Load() }
func (c *capacity) Connections() int   { return 0 }

type fixture struct {
	srv      *httptest.Server
	bus      bus.Bus
	cap      *capacity
	draining *atomic.Bool
}

type fixtureOpts struct {
	limiter  api.Limiter
	maxBody  int64
	origins  []string
	allowAll bool
	// busOpts and deps adjust the bus and the dependencies.
	busOpts bus.Options
	deps    func(*api.Deps)
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	b := memory.New(o.busOpts)
	t.Cleanup(func() { b.Close() })
	var authn auth.Authenticator = auth.AllowAll{}
	if !o.allowAll {
		ta, err := auth.NewTokenAuth(auth.TokenOptions{HS256Keys: []string{tokenKey}, Audience: "hookrelay"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ta.Close)
		authn = ta
	}
	keys, err := auth.NewAPIKeys([]auth.APIKey{{Name: "backend", Key: apiKey}})
	if err != nil {
		t.Fatal(err)
	}
	origins, err := auth.NewOrigins(o.origins)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{bus: b, cap: &capacity{}, draining: &atomic.Bool{}}
	d := api.Deps{
		Bus: b, Hub: f.cap, Auth: authn, APIKeys: keys, Origins: origins,
		PublishLimit: o.limiter, MaxBodyBytes: o.maxBody, Draining: f.draining.Load,
	}
	if o.deps != nil {
		o.deps(&d)
	}
	h := api.New(d)
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func mint(t *testing.T, sub string, subscribe, publish []string) string {
	t.Helper()
	tok, err := auth.Mint(tokenKey, auth.MintClaims{Subject: sub, Topics: subscribe, Publish: publish, Audience: "hookrelay"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// request sends one request and returns status, headers and body.
func (f *fixture) request(t *testing.T, method, path, bearer, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// errorCode decodes the catalogue's error JSON.
func errorCode(t *testing.T, body string) (string, string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Status  int    `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code, e.Error.Message
}

func TestPublishSingleAndBatch(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	status, _, body := f.request(t, "POST", api.PublishPath, apiKey, "application/json",
		`{"topic":"order:1","type":"order.shipped","data":{"n":1},"idempotency_key":"k1"}`)
	if status != 200 {
		t.Fatalf("single: %d %s", status, body)
	}
	var out struct {
		Events []struct {
			ID, Topic string
			Duplicate bool
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Events) != 1 || out.Events[0].Topic != "order:1" || out.Events[0].Duplicate {
		t.Fatalf("single answer %s (%v)", body, err)
	}
	first := out.Events[0].ID

	status, _, body = f.request(t, "POST", api.PublishPath, apiKey, "application/json; charset=utf-8",
		`{"events":[{"topic":"order:1","type":"order.shipped","data":{"n":1},"idempotency_key":"k1"},{"topic":"order:2","type":"x"}]}`)
	if status != 200 {
		t.Fatalf("batch: %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Events) != 2 {
		t.Fatalf("batch answer %s (%v)", body, err)
	}
	if !out.Events[0].Duplicate || out.Events[0].ID != first || out.Events[1].Topic != "order:2" {
		t.Fatalf("batch answer %s: want the first a duplicate of %s", body, first)
	}

	// History returns the stored event JSON.
	tok := mint(t, "alice", []string{"order:*"}, nil)
	status, _, body = f.request(t, "GET", "/v1/topics/order:1/events", tok, "", "")
	if status != 200 || !strings.Contains(body, `"type":"order.shipped"`) || !strings.Contains(body, `"truncated":false`) || !strings.Contains(body, `"source":"api"`) {
		t.Fatalf("history: %d %s", status, body)
	}
}

func TestPublishErrors(t *testing.T) {
	f := newFixture(t, fixtureOpts{maxBody: 256})
	subOnly := mint(t, "alice", []string{"order:*"}, nil)
	roomPub := mint(t, "alice", nil, []string{"room:*"})
	cases := []struct {
		name, bearer, ct, body string
		status                 int
		code, mentions         string
	}{
		{"no credentials", "", "application/json", `{"topic":"a","type":"t"}`, 401, api.CodeUnauthorized, ""},
		{"bad token", "nope", "application/json", `{"topic":"a","type":"t"}`, 401, api.CodeUnauthorized, ""},
		{"no publish grant", subOnly, "application/json", `{"topic":"a","type":"t"}`, 403, api.CodeForbidden, "publish grant"},
		{"topic outside grant", roomPub, "application/json", `{"topic":"order:1","type":"t"}`, 403, api.CodeForbidden, "order:1"},
		{"form content type", apiKey, "application/x-www-form-urlencoded", `{"topic":"a","type":"t"}`, 415, api.CodeUnsupportedMediaType, "application/json"},
		{"no content type", apiKey, "", `{"topic":"a","type":"t"}`, 415, api.CodeUnsupportedMediaType, ""},
		{"too large", apiKey, "application/json", `{"topic":"a","type":"t","data":"` + strings.Repeat("x", 300) + `"}`, 413, api.CodeTooLarge, "256"},
		{"bad topic", apiKey, "application/json", `{"topic":"a b","type":"t"}`, 400, api.CodeBadTopic, "topic"},
		{"bad topic in batch", apiKey, "application/json", `{"events":[{"topic":"a","type":"t"},{"topic":"","type":"t"}]}`, 400, api.CodeBadTopic, "events[1].topic"},
		{"missing type", apiKey, "application/json", `{"topic":"a"}`, 400, api.CodeBadRequest, "type"},
		{"type not a string", apiKey, "application/json", `{"topic":"a","type":5}`, 400, api.CodeBadRequest, "type"},
		{"unknown field", apiKey, "application/json", `{"topic":"a","type":"t","colour":1}`, 400, api.CodeBadRequest, "colour"},
		{"not json", apiKey, "application/json", `{"topic":`, 400, api.CodeBadRequest, ""},
		{"empty batch", apiKey, "application/json", `{"events":[]}`, 400, api.CodeBadRequest, "events"},
		{"both forms", apiKey, "application/json", `{"topic":"a","type":"t","events":[{"topic":"a","type":"t"}]}`, 400, api.CodeBadRequest, "either"},
		{"trailing data", apiKey, "application/json", `{"topic":"a","type":"t"} {}`, 400, api.CodeBadRequest, ""},
		{"data not utf-8", apiKey, "application/json", "{\"topic\":\"a\",\"type\":\"t\",\"data\":\"\xff\"}", 400, api.CodeBadRequest, "data: not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := f.request(t, "POST", api.PublishPath, c.bearer, c.ct, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			code, msg := errorCode(t, body)
			if code != c.code || !strings.Contains(msg, c.mentions) {
				t.Fatalf("error %s %q, want %s mentioning %q", code, msg, c.code, c.mentions)
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

func TestPublishRateLimited(t *testing.T) {
	f := newFixture(t, fixtureOpts{limiter: limit.NewKeyed(0.5, 2, time.Minute)})
	body := `{"topic":"a","type":"t"}`
	for i := range 2 {
		if status, _, b := f.request(t, "POST", api.PublishPath, apiKey, "application/json", body); status != 200 {
			t.Fatalf("publish %d: %d %s", i, status, b)
		}
	}
	status, hdr, b := f.request(t, "POST", api.PublishPath, apiKey, "application/json", body)
	if status != 429 || hdr.Get("Retry-After") == "" || hdr.Get("Retry-After") == "0" {
		t.Fatalf("third publish: %d Retry-After %q %s", status, hdr.Get("Retry-After"), b)
	}
	if code, _ := errorCode(t, b); code != api.CodeRateLimited {
		t.Fatalf("code %s", code)
	}
}

func TestBusUnavailable(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.bus.Close()
	status, hdr, body := f.request(t, "POST", api.PublishPath, apiKey, "application/json", `{"topic":"a","type":"t"}`)
	if status != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("publish on a closed bus: %d Retry-After %q %s", status, hdr.Get("Retry-After"), body)
	}
	if code, _ := errorCode(t, body); code != api.CodeBusUnavailable {
		t.Fatalf("code %s", code)
	}
	if status, _, body := f.request(t, "GET", api.ReadyzPath, "", "", ""); status != 503 || !strings.Contains(body, "bus_unavailable") {
		t.Fatalf("readyz on a closed bus: %d %s", status, body)
	}
	if status, _, _ := f.request(t, "GET", api.HealthzPath, "", "", ""); status != 200 {
		t.Fatalf("healthz must not depend on the bus: %d", status)
	}
}

func TestHistoryReadUnread(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	var ids []string
	for i := range 5 {
		_, _, body := f.request(t, "POST", api.PublishPath, apiKey, "application/json", `{"topic":"order:7","type":"t","data":{"i":`+string(rune('0'+i))+`}}`)
		var out struct{ Events []struct{ ID string } }
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Events) != 1 {
			t.Fatalf("publish: %s", body)
		}
		ids = append(ids, out.Events[0].ID)
	}
	alice := mint(t, "alice", []string{"order:7"}, nil)
	bob := mint(t, "bob", []string{"order:8"}, nil)

	status, _, body := f.request(t, "GET", "/v1/topics/order:7/events?after="+ids[1]+"&limit=2", alice, "", "")
	var page struct {
		Events []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil || len(page.Events) != 2 || page.Events[0].ID != ids[2] || page.Events[1].ID != ids[3] {
		t.Fatalf("history after %s limit 2: %d %s", ids[1], status, body)
	}
	for _, c := range []struct {
		path, bearer string
		status       int
		code         string
	}{
		{"/v1/topics/order:7/events", "", 401, api.CodeUnauthorized},
		{"/v1/topics/order:7/events", bob, 403, api.CodeForbidden},
		{"/v1/topics/order:7/events?after=x", alice, 400, api.CodeBadCursor},
		{"/v1/topics/order:7/events?after=18446744073709551615-0", alice, 400, api.CodeBadCursor},
		{"/v1/topics/order:7/events?limit=0", alice, 400, api.CodeBadRequest},
		{"/v1/topics/order:7/events?limit=abc", alice, 400, api.CodeBadRequest},
		{"/v1/topics/bad%20topic/events", alice, 400, api.CodeBadTopic},
	} {
		status, _, body := f.request(t, "GET", c.path, c.bearer, "", "")
		if code, _ := errorCode(t, body); status != c.status || code != c.code {
			t.Errorf("GET %s: %d %s, want %d %s", c.path, status, body, c.status, c.code)
		}
	}
	if status, _, body := f.request(t, "GET", "/v1/topics/order:7/events?limit=5000", alice, "", ""); status != 200 || strings.Count(body, `"id"`) != 5 {
		t.Fatalf("limit above max is clamped: %d %s", status, body)
	}

	// Unread: 5 before any read, 2 after marking the third read.
	status, _, body = f.request(t, "GET", "/v1/topics/order:7/unread", alice, "", "")
	if status != 200 || !strings.Contains(body, `"count":5`) || !strings.Contains(body, `"last_id":"`+ids[4]+`"`) {
		t.Fatalf("unread: %d %s", status, body)
	}
	if status, _, body := f.request(t, "PUT", "/v1/topics/order:7/read", alice, "application/json", `{"id":"`+ids[2]+`"}`); status != 204 {
		t.Fatalf("mark read: %d %s", status, body)
	}
	status, _, body = f.request(t, "GET", "/v1/topics/order:7/unread", alice, "", "")
	if status != 200 || !strings.Contains(body, `"count":2`) || !strings.Contains(body, `"read_id":"`+ids[2]+`"`) {
		t.Fatalf("unread after read: %d %s", status, body)
	}
	for _, c := range []struct {
		body, code string
		status     int
	}{
		{`{}`, api.CodeBadRequest, 400},
		{`{"id":"nope"}`, api.CodeBadCursor, 400},
		{`{"id":"99999999999999-0"}`, api.CodeBadCursor, 400}, // in the future: would pin the count at 0
		{`{"id":1}`, api.CodeBadRequest, 400},
	} {
		status, _, body := f.request(t, "PUT", "/v1/topics/order:7/read", alice, "application/json", c.body)
		if code, _ := errorCode(t, body); status != c.status || code != c.code {
			t.Errorf("PUT read %s: %d %s", c.body, status, body)
		}
	}
}

func TestReadiness(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if status, _, body := f.request(t, "GET", api.ReadyzPath, "", "", ""); status != 200 {
		t.Fatalf("ready: %d %s", status, body)
	}
	f.cap.over.Store(true)
	status, hdr, body := f.request(t, "GET", api.ReadyzPath, "", "", "")
	if status != 503 || !strings.Contains(body, "over_capacity") || hdr.Get("Retry-After") == "" {
		t.Fatalf("over capacity: %d %s", status, body)
	}
	f.cap.over.Store(false)
	f.draining.Store(true)
	if status, _, body := f.request(t, "GET", api.ReadyzPath, "", "", ""); status != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("draining: %d %s", status, body)
	}
	if status, _, _ := f.request(t, "GET", api.HealthzPath, "", "", ""); status != 200 {
		t.Fatalf("healthz while draining: %d", status)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing", 404, api.CodeNotFound},
		{"GET", api.PublishPath, 405, api.CodeMethodNotAllowed},
		{"DELETE", "/v1/topics/a/read", 405, api.CodeMethodNotAllowed},
	} {
		status, _, body := f.request(t, c.method, c.path, "", "", "")
		if code, _ := errorCode(t, body); status != c.status || code != c.code {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, fixtureOpts{origins: []string{"https://app.example.com"}})
	req, _ := http.NewRequest("OPTIONS", f.srv.URL+api.PublishPath, nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	req, _ = http.NewRequest("GET", f.srv.URL+"/v1/topics/a/unread", nil)
	req.Header.Set("Origin", "https://evil.example.net")
	req.Header.Set("Authorization", "Bearer "+mint(t, "alice", []string{"a"}, nil))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code, _ := errorCode(t, string(b)); resp.StatusCode != 403 || code != api.CodeForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin: %d %s %v", resp.StatusCode, b, resp.Header)
	}

	req, _ = http.NewRequest("GET", f.srv.URL+"/v1/topics/a/unread", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Authorization", "Bearer "+mint(t, "alice", []string{"a"}, nil))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestDevAllowAllPublishesWithoutKey(t *testing.T) {
	f := newFixture(t, fixtureOpts{allowAll: true})
	if status, _, body := f.request(t, "POST", api.PublishPath, "", "application/json", `{"topic":"room:lobby","type":"chat.message","data":{"text":"hi"}}`); status != 200 {
		t.Fatalf("dev publish: %d %s", status, body)
	}
	if status, _, body := f.request(t, "GET", "/v1/topics/room:lobby/unread", "", "", ""); status != 200 || !strings.Contains(body, `"count":1`) {
		t.Fatalf("dev unread (reader anonymous): %d %s", status, body)
	}
}

// TestPublishSourceByToken: a token holder's events carry "token:<sub>" as
// their source whatever the body says (no posing as a webhook sender or
// another user); an API key (a trusted backend) keeps the source it sets.
func TestPublishSourceByToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	alice := mint(t, "alice", []string{"room:*"}, []string{"room:*"})
	if status, _, body := f.request(t, "POST", api.PublishPath, alice, "application/json",
		`{"topic":"room:lobby","type":"chat.message","source":"stripe","data":{"from":"bob"}}`); status != 200 {
		t.Fatalf("token publish: %d %s", status, body)
	}
	if status, _, body := f.request(t, "POST", api.PublishPath, apiKey, "application/json",
		`{"topic":"room:lobby","type":"chat.message","source":"backend"}`); status != 200 {
		t.Fatalf("api key publish: %d %s", status, body)
	}
	status, _, body := f.request(t, "GET", "/v1/topics/room:lobby/events", alice, "", "")
	if status != 200 || !strings.Contains(body, `"source":"token:alice"`) || strings.Contains(body, `"source":"stripe"`) || !strings.Contains(body, `"source":"backend"`) {
		t.Fatalf("history %d %s: want sources token:alice and backend, never stripe", status, body)
	}
}

// TestPublishSharedRefusals: POST /v1/publish refuses the cases every way
// in shares (bustest.BadPublishes) as the shared validator does, and
// publishes nothing for them: a topic given twice (security review I8)
// neither reaches the first topic nor the last.
func TestPublishSharedRefusals(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, tc := range bustest.BadPublishes() {
		status, _, body := f.request(t, "POST", api.PublishPath, apiKey, "application/json", tc.Event)
		code, msg := errorCode(t, body)
		want := api.CodeBadRequest
		if tc.BadTopic {
			want = api.CodeBadTopic
		}
		if status != 400 || code != want || !strings.Contains(msg, tc.Field) {
			t.Errorf("%s: %d %s %q, want 400 %s naming %q", tc.Name, status, code, msg, want, tc.Field)
		}
	}
	for _, topic := range []string{"room:b", "order:1"} {
		page, err := f.bus.History(context.Background(), topic, "", 10)
		if err != nil || len(page.Events) != 0 {
			t.Errorf("%s: %d events published by refused requests (%v)", topic, len(page.Events), err)
		}
	}
}
