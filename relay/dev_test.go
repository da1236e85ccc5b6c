package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/devmode"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestDevBannerCurls: relay dev's banner names the demo pages and says
// anyone may subscribe without a token key; its publish and signed
// Shopify curls work as printed (the second Shopify paste is a duplicate).
func TestDevBannerCurls(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev"})
	out := r.Stdout()
	for _, want := range []string{devmode.NoTokenKeyNotice, r.URL + "/orders.html", r.URL + "/alerts.html", r.URL + "/chat.html", "curl", "/hooks/shopify", "HOOKRELAY_ADMIN_KEY"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	sub := subscribe(t, r.URL, client.SSE, "", "order:1042")
	sub.waitOpen(t, 1)

	curls := regexp.MustCompile(`(?s)curl -sS .*?'\n`).FindAllString(out, -1)
	if len(curls) != 2 {
		t.Fatalf("want 2 curl commands in the banner, got %d:\n%s", len(curls), out)
	}
	for i, c := range append(curls, curls[1]) {
		cmd := exec.Command("bash", "-c", strings.ReplaceAll(c, "\\\n", " "))
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl %d: %v %s", i, err, b)
		}
		var res struct {
			Events []struct {
				Topic     string
				Duplicate bool
			}
		}
		if err := json.Unmarshal(b, &res); err != nil || len(res.Events) != 1 || res.Events[0].Topic != "order:1042" {
			t.Fatalf("curl %d answered %s", i, b)
		}
		if res.Events[0].Duplicate != (i == 2) {
			t.Fatalf("curl %d duplicate=%v: %s", i, res.Events[0].Duplicate, b)
		}
	}
	evs := sub.waitEvents(t, 2, 10*time.Second)
	if evs[0].Type != "order.note" || evs[1].Type != "order.shipped" {
		t.Fatalf("events %s, %s", evs[0].Raw, evs[1].Raw)
	}
}

// TestDevDemoEndpoints: the endpoints demo.js calls. Without a token key
// /demo/token answers null; /demo/simulate runs each kind through the real
// webhook pipeline to the topics the demo pages subscribe.
func TestDevDemoEndpoints(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev"})
	if s, _, body := call(t, "GET", r.URL+api.DemoTokenPath+"?sub=alice", "", "", ""); s != 200 || strings.TrimSpace(body) != `{"token":null}` {
		t.Fatalf("demo token without key: %d %s", s, body)
	}
	orders := subscribe(t, r.URL, client.SSE, "", "order:1042")
	alerts := subscribe(t, r.URL, client.WebSocket, "", "alerts:oncall")
	orders.waitOpen(t, 1)
	alerts.waitOpen(t, 1)
	for _, kind := range []string{"order.shipped", "order.out_for_delivery", "order.delivered", "alert.firing", "alert.resolved"} {
		if s, _, body := call(t, "POST", r.URL+api.DemoSimulatePath, "", "application/json", `{"kind":"`+kind+`"}`); s != 200 {
			t.Fatalf("simulate %s: %d %s", kind, s, body)
		}
	}
	var types []string
	for _, e := range orders.waitEvents(t, 3, 10*time.Second) {
		types = append(types, e.Type)
		var d struct{ Title, Body string }
		if err := json.Unmarshal(e.Data, &d); err != nil || d.Title == "" {
			t.Errorf("order event without a title (the page shows it): %s", e.Raw)
		}
	}
	if !slices.Equal(types, []string{"order.shipped", "order.out_for_delivery", "order.delivered"}) {
		t.Fatalf("order events %v", types)
	}
	types = nil
	for _, e := range alerts.waitEvents(t, 2, 10*time.Second) {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"alert.firing", "alert.resolved"}) {
		t.Fatalf("alert events %v", types)
	}
	if s, _, body := call(t, "POST", r.URL+api.DemoSimulatePath, "", "application/json", `{"kind":"nope"}`); s != 400 || errCode(t, body) != api.CodeBadRequest {
		t.Fatalf("unknown kind: %d %s", s, body)
	}
	// The pages themselves are served too.
	for _, p := range []string{"/", "/orders.html", "/hookrelay.js", "/demo.js"} {
		if s, _, _ := call(t, "GET", r.URL+p, "", "", ""); s != 200 {
			t.Errorf("GET %s: %d", p, s)
		}
	}
}

// TestDevDemoTokenWithKey: with a token key the demo pages get a token the
// relay accepts, with the demo grants, and anonymous subscribers are
// refused.
func TestDevDemoTokenWithKey(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", TokenKey: relaytest.TokenKey})
	if strings.Contains(r.Stdout(), devmode.NoTokenKeyNotice) {
		t.Fatalf("banner claims no token key:\n%s", r.Stdout())
	}
	s, _, body := call(t, "GET", r.URL+api.DemoTokenPath+"?sub=alice", "", "", "")
	var res struct{ Token string }
	if err := json.Unmarshal([]byte(body), &res); s != 200 || err != nil || res.Token == "" {
		t.Fatalf("demo token: %d %s", s, body)
	}
	var c struct {
		Sub     string   `json:"sub"`
		Topics  []string `json:"topics"`
		Publish []string `json:"publish"`
	}
	parts := strings.Split(res.Token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		t.Fatalf("demo token payload: %v", err)
	}
	if c.Sub != "alice" || !slices.Contains(c.Topics, "user:{sub}") || !slices.Contains(c.Publish, "room:*") {
		t.Fatalf("demo claims %+v", c)
	}
	// M5 (security review 2026-12): the demo token is signed with a key
	// only dev relays derive and accept, so it is worthless on a relay
	// serve that shares the configured key.
	ta, err := auth.NewTokenAuth(auth.TokenOptions{HS256Keys: []string{relaytest.TokenKey}, Audience: "hookrelay"})
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Close()
	if _, err := ta.Verify(context.Background(), res.Token); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the demo token verifies with the configured key: %v", err)
	}
	// M5: a DNS-rebinding page (its own Host) or a cross-site form gets 403.
	for _, h := range []http.Header{{"Host": {"attacker.example"}}, {"Origin": {"http://attacker.example"}}} {
		req, _ := http.NewRequest("GET", r.URL+api.DemoTokenPath+"?sub=victim", nil)
		for k, v := range h {
			req.Header[k] = v
		}
		req.Host = h.Get("Host")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("demo token with %v: %d; want 403", h, resp.StatusCode)
		}
	}
	if s, _, body := call(t, "GET", r.URL+api.SSEPath+"?topic=order:1042", "", "", ""); s != 401 {
		t.Fatalf("anonymous SSE with a token key: %d %s", s, body)
	}
	sub := subscribe(t, r.URL, client.SSE, res.Token, "user:alice")
	sub.waitOpen(t, 1)
	if s, _, body := call(t, "GET", r.URL+api.DemoTokenPath+"?sub=a:b", "", "", ""); s != 400 {
		t.Fatalf("sub that is not a topic segment: %d %s", s, body)
	}
}

// verify checks a token the way a relay with relaytest.TokenKey does.
func verify(t *testing.T, tok string) *auth.Grants {
	t.Helper()
	ta, err := auth.NewTokenAuth(auth.TokenOptions{HS256Keys: []string{relaytest.TokenKey}, Audience: "hookrelay"})
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Close()
	g, err := ta.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify %q: %v", tok, err)
	}
	return g
}

// TestTokenCommand: `relay token` prints exactly a token that verifies with
// the configured key and carries the flags' grants.
func TestTokenCommand(t *testing.T) {
	bin := relaytest.Binary(t)
	cmd := exec.Command(bin, "token", "--sub", "alice", "--topics", "order:*,user:{sub}", "--publish", "room:*", "--ttl", "5m")
	cmd.Env = []string{"HOOKRELAY_TOKEN_KEY=" + relaytest.TokenKey}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("relay token: %v %s", err, stderr.String())
	}
	tok := strings.TrimSpace(stdout.String())
	if strings.Count(stdout.String(), "\n") != 1 || strings.Contains(tok, " ") {
		t.Fatalf("stdout is not just a token: %q", stdout.String())
	}
	g := verify(t, tok)
	if g.Subject != "alice" || !g.CanSubscribe("order:7") || !g.CanSubscribe("user:alice") || !g.CanPublish("room:x") || g.CanPublish("order:7") {
		t.Fatalf("grants %+v", g)
	}
	if d := time.Until(g.ExpiresAt); d < 4*time.Minute || d > 6*time.Minute {
		t.Fatalf("expires in %s, want 5m", d)
	}

	cmd = exec.Command(bin, "token", "--sub", "alice")
	cmd.Env = []string{}
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 || !strings.Contains(string(b), "HOOKRELAY_TOKEN_KEY") {
		t.Fatalf("without a key: %v %s", err, b)
	}
}

// TestServeRefusesWithoutTokenKey: serve names the missing setting and
// exits non-zero; `relay version` and unknown commands behave.
func TestServeRefusesWithoutTokenKey(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: "redis://127.0.0.1:1", NoTokenKey: true, NoWait: true})
	code, err := r.Wait(20 * time.Second)
	if err != nil || code == 0 || !strings.Contains(r.Stderr(), "HOOKRELAY_TOKEN_KEY") {
		t.Fatalf("serve without a token key: exit %d %v\n%s", code, err, r.Stderr())
	}
	bin := relaytest.Binary(t)
	if b, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(b), "relay ") {
		t.Fatalf("version: %v %q", err, b)
	}
	if err := exec.Command(bin, "frobnicate").Run(); err == nil {
		t.Fatal("unknown command exited 0")
	}
	if s, _ := r.Readyz(); s == http.StatusOK {
		t.Fatal("a relay that refused to start answers /readyz")
	}
}

// TestMisspelledSettingWarned: a HOOKRELAY_* variable that no setting
// reads (a typo) is logged as a config warning at start, naming it.
func TestMisspelledSettingWarned(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_HEARTBEET=10s"}})
	r.WaitLog(t, "HOOKRELAY_HEARTBEET", 10*time.Second)
}

// TestDevRefusesPublicAddr guards M5 of the 2026-12 review: relay dev on a
// non-loopback address exits at start, before listening, with an error
// naming --public. (That --public is accepted is a config test: starting
// a dev relay on every interface of a shared machine is not.)
func TestDevRefusesPublicAddr(t *testing.T) {
	_, port, err := net.SplitHostPort(relaytest.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Addr: ":" + port, NoWait: true})
	code, err := r.Wait(30 * time.Second)
	if err != nil || code != 1 {
		t.Fatalf("relay dev on %s: exit %d, %v; want 1", r.Addr, code, err)
	}
	if !strings.Contains(r.Stderr(), "not a loopback address") || !strings.Contains(r.Stderr(), "--public") {
		t.Fatalf("the refusal does not name the flag: %s", r.Stderr())
	}
}
