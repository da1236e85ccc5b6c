package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// The plain-JavaScript examples of docs/client.md, run as written: an "app
// server" serves each example as a page plus the /api/hookrelay-token
// endpoint the examples call, and passes everything else to a relay (the
// examples load /hookrelay.js from their own origin).

const clientDoc = "../../../docs/client.md"

// docBlock returns the first fenced block of language lang in the section
// of docs/client.md that starts with heading.
func docBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(clientDoc)
	if err != nil {
		t.Fatalf("read %s: %v", clientDoc, err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no section %q", clientDoc, heading)
	}
	re := regexp.MustCompile("(?s)\n```" + regexp.QuoteMeta(lang) + "\n(.*?)\n```")
	m := re.FindStringSubmatch(doc[i:])
	if m == nil {
		t.Fatalf("%s: section %q has no ```%s block", clientDoc, heading, lang)
	}
	return m[1]
}

// appServer serves the examples at /example/<name>.html, a token endpoint,
// and proxies the rest to the relay.
func appServer(t *testing.T, r *relaytest.Relay, pages map[string]string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(r.URL)
	if err != nil {
		t.Fatalf("relay url: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	mux.HandleFunc("GET /api/hookrelay-token", func(w http.ResponseWriter, _ *http.Request) {
		tok, err := auth.Mint(relaytest.TokenKey, auth.MintClaims{Subject: "doc-reader", Topics: []string{"order:*", "alerts:*"}, TTL: time.Hour, Audience: "hookrelay"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		// A failed write means the page went away.
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
	for name, body := range pages {
		html := "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + name + "</title></head><body>\n" + body + "\n</body></html>\n"
		mux.HandleFunc("GET /example/"+name+".html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(html)) // a failed write means the page went away
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestE2EDocExamples runs the ES module and script tag examples of
// docs/client.md in Chromium against a relay.
func TestE2EDocExamples(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	app := appServer(t, r, map[string]string{
		"module": docBlock(t, "## Plain JavaScript: ES module", "html"),
		"script": docBlock(t, "## Plain JavaScript: script tag", "html"),
	})
	r.Publish(t, note(0)) // history
	b := newBrowser(t)

	page := b.firstTab("module example")
	page.run(10*time.Second, "open the module example", chromedp.Navigate(app.URL+"/example/module.html"))
	page.wait(10*time.Second, "state open", `document.getElementById("state").textContent === "open"`)
	r.Publish(t, note(1), note(2))
	page.wait(5*time.Second, "history and live updates", `document.querySelectorAll("#updates li").length === 3`)
	var got []string
	page.eval(`[...document.querySelectorAll("#updates li")].map((li) => li.textContent)`, &got)
	checkNotes(t, got, 3)
	page.noExceptions()

	script := b.isolatedTab("script example")
	script.run(10*time.Second, "open the script example", chromedp.Navigate(app.URL+"/example/script.html"))
	// The example has no state display: publish until its handler logs
	// (the first publish can precede its subscription, which starts live).
	alert := client.Message{Topic: "alerts:oncall", Type: "alert.firing", Data: json.RawMessage(`{"title":"Checkout error rate above 5%"}`)}
	deadline := time.Now().Add(budget(10 * time.Second))
	for !strings.Contains(script.consoleText(), "firing: Checkout error rate above 5%") {
		if time.Now().After(deadline) {
			t.Fatalf("script example never logged the firing alert; console:\n%s", script.consoleText())
		}
		r.Publish(t, alert)
		script.tryWaitConsole(200*time.Millisecond, "firing: Checkout")
	}
	script.noExceptions()
}

// consoleText is everything the tab's console showed so far.
func (tb *tab) consoleText() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return strings.Join(tb.console, "\n")
}

// tryWaitConsole waits up to timeout for s in the console; false if not.
func (tb *tab) tryWaitConsole(timeout time.Duration, s string) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !strings.Contains(tb.consoleText(), s) {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
