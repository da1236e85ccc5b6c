package e2e_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookrelay/hookrelay/infra/webhook"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

const (
	consoleAdminKey = "e2e-console-admin-key-0123"
	// consoleFleetTTL is short so a killed relay leaves the fleet view
	// quickly; the view polls every 2 s.
	consoleFleetTTL = 3 * time.Second
)

// startConsoleRelay starts relay dev on Redis with the console on.
func startConsoleRelay(t *testing.T, redisURL string) *relaytest.Relay {
	t.Helper()
	return relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: redisURL, TokenKey: relaytest.TokenKey,
		Env: []string{"HOOKRELAY_ADMIN_KEY=" + consoleAdminKey, "HOOKRELAY_FLEET_TTL=" + consoleFleetTTL.String()}})
}

// signIn opens the console and signs in with the admin key.
func signIn(page *tab, base string) {
	page.t.Helper()
	page.run(15*time.Second, "open console", chromedp.Navigate(base+"/console/"))
	page.wait(5*time.Second, "sign-in form", `!document.getElementById("login").hidden`)
	page.run(5*time.Second, "sign in",
		chromedp.SendKeys(chromedp.CSS("#key"), consoleAdminKey),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)))
	page.wait(5*time.Second, "signed in", `!document.getElementById("nav").hidden && !document.getElementById("page-deliveries").hidden`)
}

// postRaw posts a Shopify-shaped webhook with the given signature header.
func postRaw(t *testing.T, base, webhookID, sig string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/hooks/shopify", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", "fulfillments/create")
	req.Header.Set("X-Shopify-Webhook-Id", webhookID)
	req.Header.Set("X-Shopify-Hmac-Sha256", sig)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// rowJS finds the deliveries row of a delivery id.
func rowJS(id string) string {
	return `[...document.querySelectorAll("#deliveries tbody tr")].find((tr) => tr.children[4].textContent === ` + jsString(id) + `)`
}

// consoleE2E is what the console's browser test drives: two relays on
// one Redis and a Chromium tab on relay a's console.
type consoleE2E struct {
	a, b *relaytest.Relay
	br   *browser
	page *tab
}

// TestE2EConsole drives the operator console in Chromium against two
// relays on one Redis: a refused webhook shows with its reason within a
// second, a replay shows duplicate, a test delivery reaches the order page,
// a killed relay leaves the fleet within its record's TTL, the live tail
// shows a publish, and no call works without the session or from another
// origin. Screenshots of every page go to screenshots/console-*.png.
func TestE2EConsole(t *testing.T) {
	srv := startRedis(t)
	e := &consoleE2E{a: startConsoleRelay(t, srv.URL()), b: startConsoleRelay(t, srv.URL()), br: newBrowser(t)}
	e.page = e.br.firstTab("console")
	e.page.run(5*time.Second, "viewport", chromedp.EmulateViewport(1360, 900))
	t.Run("sign-in page", func(t *testing.T) { consoleSignInPage(t, e) })
	signIn(e.page, e.a.URL)
	t.Run("bad signature shows with its reason within a second", func(t *testing.T) { consoleRefusalShown(t, e) })
	t.Run("replay of a good delivery shows duplicate", func(t *testing.T) { consoleReplayDuplicate(t, e) })
	t.Run("test delivery reaches the order page", func(t *testing.T) { consoleTestDelivery(t, e) })
	t.Run("live tail", func(t *testing.T) { consoleLiveTail(t, e) })
	t.Run("killed relay leaves the fleet within its TTL", func(t *testing.T) { consoleFleetKill(t, e) })
	t.Run("no call without the session", func(t *testing.T) { consoleNoSession(t, e) })
	t.Run("no call from another origin", func(t *testing.T) { consoleOtherOrigin(t, e) })
	e.page.noExceptions()
}

func consoleSignInPage(t *testing.T, e *consoleE2E) {
	e.page.run(15*time.Second, "open console", chromedp.Navigate(e.a.URL+"/console/"))
	e.page.wait(5*time.Second, "sign-in form", `!document.getElementById("login").hidden`)
	e.page.screenshot("console-signin")
}

func consoleRefusalShown(t *testing.T, e *consoleE2E) {
	body := shopifyFulfillment(t, "confirmed", time.Now())
	start := time.Now()
	if st := postRaw(t, e.b.URL, "e2e-bad-sig-1", webhook.SignShopify("not-the-secret", body), body); st != 401 {
		t.Fatalf("bad signature answered %d, want 401", st)
	}
	// Posted to relay b, shown by relay a's console: the log is in Redis.
	e.page.wait(time.Until(start.Add(time.Second)), "refused row within 1 s", rowJS("e2e-bad-sig-1")+` !== undefined`)
	var why string
	e.page.eval(rowJS("e2e-bad-sig-1")+`.children[6].textContent`, &why)
	if !strings.Contains(why, "matches none of the source's 1 secret(s)") || !strings.Contains(why, "X-Shopify-Hmac-Sha256") {
		t.Errorf("refusal shown as %q, want the reason and the header", why)
	}
	t.Logf("refused webhook shown in the console %s after it was posted", time.Since(start).Round(time.Millisecond))
}

func consoleReplayDuplicate(t *testing.T, e *consoleE2E) {
	postShopify(t, e.a.URL, "fulfillments/create", "e2e-good-1", shopifyFulfillment(t, "confirmed", time.Now()))
	e.page.wait(5*time.Second, "good row", rowJS("e2e-good-1")+` !== undefined`)
	e.page.eval(`(() => { `+rowJS("e2e-good-1")+`.click(); return true; })()`, nil)
	e.page.wait(5*time.Second, "detail open", `!document.getElementById("detail").hidden && !document.getElementById("replay-same").disabled`)
	e.page.run(5*time.Second, "replay", chromedp.Click(chromedp.CSS("#replay-same")))
	e.page.wait(5*time.Second, "replay answered", `document.getElementById("d-answer").textContent.includes("replayed as e2e-good-1: 200 duplicate")`)
	e.page.wait(5*time.Second, "replay logged", `[...document.querySelectorAll("#deliveries tbody tr")].some((tr) => tr.dataset.outcome === "duplicate" && tr.textContent.includes("replay"))`)
	e.page.screenshot("console-deliveries")
}

func consoleTestDelivery(t *testing.T, e *consoleE2E) {
	orders := e.br.isolatedTab("orders")
	orders.open(e.a.URL + "/orders.html")
	e.page.run(5*time.Second, "test page", chromedp.Navigate(e.a.URL+"/console/#test"))
	e.page.wait(5*time.Second, "test form", `!document.getElementById("page-test").hidden`)
	e.page.eval(`(() => { const s = document.getElementById("t-source"); s.value = "shopify"; s.dispatchEvent(new Event("change")); return true; })()`, nil)
	e.page.wait(5*time.Second, "shopify sample", `document.getElementById("t-body").value.includes("out_for_delivery")`)
	e.page.run(5*time.Second, "send", chromedp.Click(chromedp.CSS(`#test-form button[type="submit"]`)))
	e.page.wait(5*time.Second, "answer", `document.getElementById("t-answer").textContent.includes(": 200")`)
	orders.wait(5*time.Second, "out for delivery on the order page", `document.querySelector('#log li[data-type="order.out_for_delivery"]') !== null`)
	e.page.screenshot("console-test")
	orders.screenshot("console-test-orders")
}

func consoleLiveTail(t *testing.T, e *consoleE2E) {
	e.page.run(5*time.Second, "tail page", chromedp.Navigate(e.a.URL+"/console/#tail"))
	e.page.wait(5*time.Second, "tail form", `!document.getElementById("page-tail").hidden`)
	e.page.run(5*time.Second, "tail order:1042",
		chromedp.SendKeys(chromedp.CSS("#tail-topic"), "order:1042"),
		chromedp.Click(chromedp.CSS(`#tail-form button[type="submit"]`)))
	e.page.wait(5*time.Second, "tailing", `document.getElementById("tail-state").textContent.startsWith("tailing")`)
	e.b.Publish(t, note(0))
	e.page.wait(5*time.Second, "note in the tail", `document.querySelector('#tail-events li[data-type="order.note"]') !== null`)
	e.page.screenshot("console-tail")
}

func consoleFleetKill(t *testing.T, e *consoleE2E) {
	e.page.run(5*time.Second, "fleet page", chromedp.Navigate(e.a.URL+"/console/#fleet"))
	e.page.wait(10*time.Second, "two relays", `document.querySelectorAll("#fleet tbody tr").length === 2`)
	for i := 1; i <= 5; i++ {
		e.a.Publish(t, note(i))
	}
	e.page.wait(10*time.Second, "a publish rate", `[...document.querySelectorAll("#fleet tbody tr")].some((tr) => tr.children[8].textContent !== "0")`)
	e.page.screenshot("console-fleet")
	e.b.Kill(t)
	killed := time.Now()
	// The record expires FleetTTL after its last refresh (at most
	// TTL/3 before the kill); the page polls every 2 s.
	limit := consoleFleetTTL + 2*time.Second + time.Second
	e.page.wait(limit+2*time.Second, "killed relay gone", `document.querySelectorAll("#fleet tbody tr").length === 1`)
	gone := time.Since(killed)
	t.Logf("killed relay left the fleet view %s after SIGKILL (TTL %s)", gone.Round(time.Millisecond), consoleFleetTTL)
	if gone > limit {
		t.Errorf("killed relay left after %s, want within TTL %s + the page's 2 s poll + 1 s", gone, consoleFleetTTL)
	}
	e.page.screenshot("console-fleet-after-kill")
}

func consoleNoSession(t *testing.T, e *consoleE2E) {
	other := e.br.isolatedTab("no session")
	other.run(10*time.Second, "open", chromedp.Navigate(e.a.URL+"/console/"))
	var codes []int
	other.eval(`Promise.all(["/console/api/deliveries", "/console/api/fleet", "/console/api/sources"].map((p) => fetch(p).then((r) => r.status))
		.concat([fetch("/console/api/sources/shopify/test", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"}).then((r) => r.status)]))`, &codes)
	for _, c := range codes {
		if c != 401 {
			t.Errorf("console calls without a session answered %v, want 401 each", codes)
			break
		}
	}
}

func consoleOtherOrigin(t *testing.T, e *consoleE2E) {
	// Same site (127.0.0.1), other port: the SameSite=Strict cookie is
	// sent, so the Origin / Sec-Fetch-Site checks are what refuse.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>elsewhere</title>"))
	}))
	defer evil.Close()
	e.page.run(10*time.Second, "open other origin", chromedp.Navigate(evil.URL+"/"))
	var result string
	e.page.eval(`(async () => {
		const base = `+jsString(e.a.URL)+`;
		await fetch(base + "/console/api/sources/shopify/test", {method: "POST", mode: "no-cors", credentials: "include",
			headers: {"Content-Type": "text/plain"}, body: JSON.stringify({type: "fulfillments/create", body: {order_id: 1042, id: 9}})});
		try { await fetch(base + "/console/api/fleet", {credentials: "include"}); return "read"; } catch (e) { return "blocked"; }
	})()`, &result)
	if result != "blocked" {
		t.Errorf("another origin read the fleet: %s", result)
	}
	if strings.Contains(e.a.Stderr(), "console: test delivery") && strings.Count(e.a.Stderr(), "console: test delivery") > 1 {
		t.Errorf("a test delivery was sent from another origin:\n%s", e.a.Stderr())
	}
}
