package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
	"github.com/hookrelay/hookrelay/infra/fleet"
	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/console"
)

const adminKey = "console-test-admin-key"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	log   *deliverylog.Memory
	w     *deliverylog.Writer
	hooks *webhook.Handler
	bus   *memory.Bus
	// closing ends the console's tails when closed (the relay drains).
	closing chan struct{}
	mu      sync.Mutex
	now     time.Time
}

// newEnv serves the console (with a real webhook handler on a memory bus
// writing a real delivery log) on a real HTTP server.
func newEnv(t *testing.T, key string) *env {
	t.Helper()
	e := &env{t: t, now: time.Now(), log: deliverylog.NewMemory(deliverylog.Limits{}), closing: make(chan struct{})}
	b := memory.New(bus.Options{})
	e.bus = b
	t.Cleanup(func() { b.Close() })
	e.w = deliverylog.NewWriter(e.log, deliverylog.WriterOptions{Bodies: true})
	t.Cleanup(func() { e.w.Close(context.Background()) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := webhook.New(context.Background(), []config.WebhookSource{
		{Name: "shop", Provider: "shopify", Secrets: []string{"shop-secret"}, Preset: "shopify"},
	}, b, webhook.Options{Observer: e.w, Via: deliverylog.ViaRelay, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.hooks = h
	fl := fleet.NewMemory()
	if err := fl.Put(context.Background(), fleet.Record{ID: "relay-a", Ready: true}, time.Minute); err != nil {
		t.Fatal(err)
	}
	c := console.New(console.Options{AdminKey: key, Log: e.log, Fleet: fl, Hooks: webhook.NewConsole(h), Bus: b, Logger: quiet, Closing: e.closing,
		Now: func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }})
	mux := http.NewServeMux()
	mux.Handle("/hooks/{source}", h)
	mux.Handle("/console/", c)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

type call struct {
	method, path, body string
	hdr                map[string]string
}

func (e *env) do(c call) (int, map[string]any, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m) // non-JSON answers leave m nil
	return res.StatusCode, m, res
}

// login signs in and returns the cookie header value and CSRF token.
func (e *env) login() (string, string) {
	e.t.Helper()
	st, m, res := e.do(call{"POST", "/console/api/login", `{"key":"` + adminKey + `"}`, map[string]string{"Origin": e.srv.URL}})
	if st != 200 {
		e.t.Fatalf("login: %d %v", st, m)
	}
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == console.CookieName {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" {
		e.t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console", ck)
	}
	return ck.Name + "=" + ck.Value, m["csrf"].(string)
}

// calls are every console API call, with a valid body.
func calls() []call {
	return []call{
		{"GET", "/console/api/session", "", nil},
		{"GET", "/console/api/sources", "", nil},
		{"GET", "/console/api/deliveries", "", nil},
		{"GET", "/console/api/deliveries/shop/x", "", nil},
		{"GET", "/console/api/fleet", "", nil},
		{"GET", "/console/api/tail?topic=order:1", "", nil},
		{"POST", "/console/api/deliveries/shop/x/replay", `{}`, nil},
		{"POST", "/console/api/sources/shop/test", `{"type":"orders/paid","body":{"id":1}}`, nil},
		{"POST", "/console/api/logout", `{}`, nil},
	}
}

// TestNoCallWithoutSession: every call but sign-in answers 401 without a
// session cookie, and with a forged, tampered or expired one.
func TestNoCallWithoutSession(t *testing.T) {
	e := newEnv(t, adminKey)
	ck, _ := e.login()
	forged := console.CookieName + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tampered := ck[:len(ck)-2] + "AA"
	for _, cookie := range []string{"", forged, tampered} {
		for _, c := range calls() {
			c.hdr = map[string]string{"Origin": e.srv.URL}
			if cookie != "" {
				c.hdr["Cookie"] = cookie
			}
			if st, m, _ := e.do(c); st != 401 {
				t.Errorf("%s %s with cookie %q: %d %v, want 401", c.method, c.path, cookie, st, m)
			}
		}
	}
	e.mu.Lock()
	e.now = e.now.Add(console.DefaultSessionTTL + time.Second)
	e.mu.Unlock()
	if st, m, _ := e.do(call{"GET", "/console/api/fleet", "", map[string]string{"Cookie": ck}}); st != 401 {
		t.Errorf("expired session: %d %v, want 401", st, m)
	}
}

// TestNoCallFromAnotherOrigin: with a valid session, state-changing calls
// need the CSRF token and a same-origin Origin; reads refuse cross-site
// fetches; sign-in refuses other origins.
func TestNoCallFromAnotherOrigin(t *testing.T) {
	e := newEnv(t, adminKey)
	ck, csrf := e.login()
	for _, c := range calls() {
		for name, hdr := range map[string]map[string]string{
			"other origin":   {"Origin": "http://evil.example", "Cookie": ck, console.CSRFHeader: csrf},
			"cross-site":     {"Sec-Fetch-Site": "cross-site", "Cookie": ck, console.CSRFHeader: csrf},
			"same-site port": {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site", "Cookie": ck, console.CSRFHeader: csrf},
		} {
			c.hdr = hdr
			if st, m, _ := e.do(c); st != 403 {
				t.Errorf("%s %s from %s: %d %v, want 403", c.method, c.path, name, st, m)
			}
		}
		if c.method != "POST" {
			continue
		}
		for name, hdr := range map[string]map[string]string{
			"no CSRF token":    {"Origin": e.srv.URL, "Cookie": ck},
			"wrong CSRF token": {"Origin": e.srv.URL, "Cookie": ck, console.CSRFHeader: csrf + "x"},
			"no Origin":        {"Cookie": ck, console.CSRFHeader: csrf},
		} {
			c.hdr = hdr
			if st, m, _ := e.do(c); st != 403 {
				t.Errorf("%s %s with %s: %d %v, want 403", c.method, c.path, name, st, m)
			}
		}
	}
	if st, _, _ := e.do(call{"POST", "/console/api/login", `{"key":"` + adminKey + `"}`, map[string]string{"Origin": "http://evil.example"}}); st != 403 {
		t.Errorf("login from another origin: %d, want 403", st)
	}
	// The same calls with everything right succeed (the refusals above
	// were not for another reason).
	st, _, _ := e.do(call{"POST", "/console/api/sources/shop/test", `{"type":"orders/paid","body":{"id":1}}`,
		map[string]string{"Origin": e.srv.URL, "Cookie": ck, console.CSRFHeader: csrf}})
	if st != 200 {
		t.Fatalf("test delivery with session, CSRF and Origin: %d", st)
	}
}

// TestConsoleDisabledWithoutAdminKey: no admin key, no console at all.
func TestConsoleDisabledWithoutAdminKey(t *testing.T) {
	e := newEnv(t, "")
	for _, c := range append(calls(), call{"POST", "/console/api/login", `{"key":""}`, nil}, call{"GET", "/console/", "", nil}) {
		c.hdr = map[string]string{"Origin": e.srv.URL}
		st, m, _ := e.do(c)
		if st != 404 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "HOOKRELAY_ADMIN_KEY") {
			t.Errorf("%s %s: %d %v, want 404 naming HOOKRELAY_ADMIN_KEY", c.method, c.path, st, m)
		}
	}
}

// TestLoginRefusals: a wrong key is refused, and guessing is rate-limited.
func TestLoginRefusals(t *testing.T) {
	e := newEnv(t, adminKey)
	codes := map[int]int{}
	for range 8 {
		st, _, _ := e.do(call{"POST", "/console/api/login", `{"key":"wrong"}`, map[string]string{"Origin": e.srv.URL}})
		codes[st]++
	}
	if codes[401] == 0 || codes[429] == 0 || codes[200] != 0 {
		t.Fatalf("8 wrong keys answered %v, want 401s then 429s", codes)
	}
}

// TestReplayAndTestDelivery: through the console API, a test delivery is
// logged, its replay with the original id is a duplicate and with a new id
// publishes anew.
func TestReplayAndTestDelivery(t *testing.T) {
	e := newEnv(t, adminKey)
	ck, csrf := e.login()
	hdr := map[string]string{"Origin": e.srv.URL, "Cookie": ck, console.CSRFHeader: csrf}
	st, m, _ := e.do(call{"POST", "/console/api/sources/shop/test", `{"type":"orders/paid","body":{"id":1042,"name":"#1042"}}`, hdr})
	if st != 200 || m["status"].(float64) != 200 {
		t.Fatalf("test delivery: %d %v", st, m)
	}
	id := m["delivery_id"].(string)
	var entry map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for entry == nil {
		_, list, _ := e.do(call{"GET", "/console/api/deliveries?delivery_id=" + id, "", hdr})
		if ds := list["deliveries"].([]any); len(ds) == 1 {
			entry = ds[0].(map[string]any)
		} else if time.Now().After(deadline) {
			t.Fatalf("test delivery %s never logged: %v", id, list)
		} else {
			time.Sleep(5 * time.Millisecond) // polling with a deadline
		}
	}
	if entry["via"] != "test" || entry["outcome"] != "published" {
		t.Fatalf("logged %v", entry)
	}
	path := "/console/api/deliveries/shop/" + entry["id"].(string) + "/replay"
	st, m, _ = e.do(call{"POST", path, `{}`, hdr})
	events := m["body"].(map[string]any)["events"].([]any)
	if st != 200 || events[0].(map[string]any)["duplicate"] != true || m["delivery_id"] != id {
		t.Fatalf("replay: %d %v, want a duplicate under %s", st, m, id)
	}
	st, m, _ = e.do(call{"POST", path, `{"new_id":true}`, hdr})
	events = m["body"].(map[string]any)["events"].([]any)
	if st != 200 || events[0].(map[string]any)["duplicate"] == true || m["delivery_id"] == id {
		t.Fatalf("replay with a new id: %d %v", st, m)
	}
	if st, _, _ := e.do(call{"GET", "/console/api/deliveries?status=" + strings.Repeat("x", 50), "", hdr}); st != 400 {
		t.Fatalf("overlong status filter: %d, want 400", st)
	}
}

// TestTailStreamsAndEndsOnClosing: the live tail streams a topic's new
// events and ends, saying why, when the relay starts draining.
func TestTailStreamsAndEndsOnClosing(t *testing.T) {
	e := newEnv(t, adminKey)
	ck, _ := e.login()
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/api/tail?topic=order:1042", nil)
	req.Header.Set("Cookie", ck)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := res.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				return
			}
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: stream ended", what)
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing within 10s", what)
		}
		return ""
	}
	if l := next("comment"); !strings.HasPrefix(l, ": tailing order:1042") {
		t.Fatalf("first message %q", l)
	}
	if _, err := e.bus.Publish(context.Background(), []bus.Message{{Topic: "order:1042", Type: "order.note", Data: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if l := next("event"); !strings.HasPrefix(l, "data: ") || !strings.Contains(l, `"type":"order.note"`) {
		t.Fatalf("event message %q", l)
	}
	close(e.closing)
	if l := next("closing"); !strings.HasPrefix(l, "event: closing") {
		t.Fatalf("closing message %q", l)
	}
	for range lines {
	}
}
