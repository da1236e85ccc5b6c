package e2e_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests of the order tracking page (orders.html, SSE): a signed
// Shopify webhook reaches the timeline, and the page loses nothing when its
// relay crashes or when it is moved to another relay.

// notesJS lists the titles of the feed's notes in the page's update log, in
// DOM order.
const notesJS = `[...document.querySelectorAll('#log li[data-type="order.note"]')].map((li) => li.children[1].textContent)`

// recordStates makes the page keep every state change of its client with a
// timestamp, in window.__states.
func recordStates(page *tab) {
	page.t.Helper()
	page.eval(`(() => {
		window.__states = [];
		window.demo.client.onState((s, d) => window.__states.push({s, at: Date.now(), code: (d && d.code) || 0, reason: (d && d.reason) || ""}));
		return true;
	})()`, nil)
}

// stateChange is one entry of window.__states.
type stateChange struct {
	S      string `json:"s"`
	At     int64  `json:"at"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// reopenedAfter waits until the client is open again after the time t0 and
// returns when (browser clock, same machine) and the states on the way.
func reopenedAfter(page *tab, t0 time.Time, timeout time.Duration) (time.Time, []stateChange) {
	page.t.Helper()
	ms := strconv.FormatInt(t0.UnixMilli(), 10)
	page.wait(timeout, "client open again", `window.__states.some((x) => x.s === "open" && x.at >= `+ms+`)`)
	var states []stateChange
	page.eval(`window.__states`, &states)
	var after []stateChange
	var open time.Time
	for _, s := range states {
		if s.At < t0.UnixMilli() {
			continue
		}
		after = append(after, s)
		if s.S == "open" && open.IsZero() {
			open = time.UnixMilli(s.At)
		}
	}
	return open, after
}

// waitNotes waits until the page shows note n-1 and then checks that it
// shows note 0 … note n-1, each once, in order.
func waitNotes(t *testing.T, page *tab, n int, timeout time.Duration) {
	t.Helper()
	if err := page.tryWait(timeout, fmt.Sprintf(`%s.includes("note %d")`, notesJS, n-1)); err != nil {
		var got []string
		page.eval(notesJS, &got)
		t.Fatalf("note %d not shown within %s (page shows %d notes, last %q): %v", n-1, timeout, len(got), last(got), err)
	}
	var got []string
	page.eval(notesJS, &got)
	checkNotes(t, got, n)
}

// checkNotes fails unless got is exactly note 0 … note n-1.
func checkNotes(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("page shows %d notes, want %d (each exactly once)", len(got), n)
	}
	for i, title := range got {
		if want := fmt.Sprintf("note %d", i); title != want {
			t.Fatalf("update %d is %q, want %q (lost, duplicated or out of order); all: %v", i, title, want, got)
		}
	}
}

// libClientsJS starts two hookrelay.js clients on two topics, one per
// transport, recording notes and states in window.__c[transport]: the demo
// page covers one topic over SSE; these cover the multi-topic SSE cursor
// and per-topic WebSocket resume.
const libClientsJS = `(async () => {
	const { connect } = await import("/hookrelay.js");
	const token = (await (await fetch("/demo/token?sub=lib")).json()).token;
	window.__c = {};
	for (const transport of ["sse", "ws"]) {
		const r = { notes: [], states: [] };
		window.__c[transport] = r;
		const c = connect({ topics: ["order:1042", "alerts:oncall"], transport, token });
		c.on("order.note", (ev) => r.notes.push(ev.data.title));
		c.onState((s, d) => r.states.push({ s, at: Date.now(), code: (d && d.code) || 0 }));
	}
	return true;
})()`

// startLibClients opens a tab at base and starts the clients of
// libClientsJS there; it returns once both are open.
func startLibClients(b *browser, base string) *tab {
	b.t.Helper()
	lib := b.isolatedTab("library clients")
	lib.run(10*time.Second, "blank page", chromedp.Navigate(base+"/"))
	lib.eval(libClientsJS, nil)
	lib.wait(10*time.Second, "both clients open", `Object.values(window.__c).every((r) => r.states.some((x) => x.s === "open"))`)
	return lib
}

// checkLibNotes waits until both clients of libClientsJS have note n-1 and
// checks each got note 0 … n-1 exactly once, in order.
func checkLibNotes(t *testing.T, lib *tab, n int) {
	t.Helper()
	lib.wait(10*time.Second, "every note in both clients", fmt.Sprintf(`Object.values(window.__c).every((r) => r.notes.includes("note %d"))`, n-1))
	var clients map[string]libClient
	lib.eval(`window.__c`, &clients)
	for name, c := range clients {
		t.Run(name+" client", func(t *testing.T) {
			checkNotes(t, c.Notes, n)
			var states []string
			for _, s := range c.States {
				states = append(states, fmt.Sprintf("%s/%d", s.S, s.Code))
			}
			t.Logf("states %v", states)
		})
	}
	lib.noExceptions()
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// TestE2EWebhookToOrderPage: a signed Shopify fulfillment webhook for order
// 1042 appears in the open order page within a second; Shopify's retry of
// the same delivery does not add a second entry; later shipment updates
// complete the timeline.
func TestE2EWebhookToOrderPage(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	page := newBrowser(t).firstTab("orders")
	page.open(r.URL + "/orders.html")
	page.eval(`(() => {
		const log = document.getElementById("log");
		window.__seenAt = 0;
		new MutationObserver(() => {
			if (!window.__seenAt && log.querySelector('li[data-type="order.shipped"]')) window.__seenAt = Date.now();
		}).observe(log, {childList: true});
		return true;
	})()`, nil)

	body := shopifyFulfillment(t, "confirmed", time.Now())
	start := time.Now()
	postShopify(t, r.URL, "fulfillments/create", "e2e-fulfillment-create-1", body)
	answered := time.Since(start)
	page.wait(time.Until(start.Add(time.Second)), "the shipped update within 1 s of the webhook", `window.__seenAt > 0`)
	var seenAt int64
	page.eval(`window.__seenAt`, &seenAt)
	t.Logf("webhook -> DOM: %s (webhook answered after %s)", time.UnixMilli(seenAt).Sub(start).Round(time.Millisecond), answered.Round(time.Millisecond))

	var shipped struct {
		Title, Body string
		Done        bool
	}
	page.eval(`(() => {
		const li = document.querySelector('#log li[data-type="order.shipped"]');
		return {title: li.children[1].textContent, body: li.children[2] ? li.children[2].textContent : "",
			done: document.querySelector('#timeline li[data-step="shipped"]').classList.contains("done")};
	})()`, &shipped)
	if shipped.Title != "Your order has shipped" || shipped.Body != "UPS 1Z999AA10123456784" || !shipped.Done {
		t.Errorf("shipped entry = %+v, want title, tracking body and the timeline step done", shipped)
	}

	// Shopify retries a delivery it thinks failed: same webhook id, same
	// body. The relay answers with the original event; the page shows it once.
	postShopify(t, r.URL, "fulfillments/create", "e2e-fulfillment-create-1", body)
	postShopify(t, r.URL, "fulfillments/update", "e2e-fulfillment-update-1", shopifyFulfillment(t, "out_for_delivery", time.Now()))
	postShopify(t, r.URL, "fulfillments/update", "e2e-fulfillment-update-2", shopifyFulfillment(t, "delivered", time.Now()))
	page.wait(5*time.Second, "every timeline step done", `[...document.querySelectorAll("#timeline li")].every((li) => li.classList.contains("done"))`)
	var types []string
	page.eval(`[...document.querySelectorAll("#log li")].map((li) => li.dataset.type)`, &types)
	if fmt.Sprint(types) != "[order.shipped order.out_for_delivery order.delivered]" {
		t.Errorf("update log types = %v, want shipped, out_for_delivery, delivered once each", types)
	}
	var badge string
	page.eval(`document.getElementById("unread").textContent`, &badge)
	if badge != "3" {
		t.Errorf("unread badge = %q, want 3", badge)
	}
	page.noExceptions()
}

// TestE2EOrderPageSurvivesRelayCrash: the page's relay is killed (SIGKILL)
// and restarted on the same port while a backend keeps publishing through
// another relay; the page reconnects by itself and shows every event
// exactly once, in order.
func TestE2EOrderPageSurvivesRelayCrash(t *testing.T) {
	srv := startRedis(t)
	a := startDev(t, srv.URL())
	other := startDev(t, srv.URL()) // the backend publishes through another node
	b := newBrowser(t)
	page := b.firstTab("orders")
	page.open(a.URL + "/orders.html")
	recordStates(page)
	lib := startLibClients(b, a.URL)

	f := startFeed(other.Publisher(), 20*time.Millisecond)
	page.wait(5*time.Second, "first live notes", notesJS+`.length >= 5`)
	killed := time.Now()
	atKill := f.published()
	a.Kill(t)
	a.Restart(t)
	ready := time.Since(killed)
	open, states := reopenedAfter(page, killed, 20*time.Second)
	atOpen := f.published()
	// Keep publishing until the page has shown live notes after the reconnect.
	page.wait(5*time.Second, "live notes after the reconnect", fmt.Sprintf(`%s.includes("note %d")`, notesJS, atOpen+5))
	n := f.Stop(t)
	waitNotes(t, page, n, 10*time.Second)
	checkLibNotes(t, lib, n)
	t.Logf("SIGKILL -> relay ready again: %s; -> page live again: %s; %d notes published while it was away; %d notes in all; states: %+v",
		ready.Round(time.Millisecond), open.Sub(killed).Round(time.Millisecond), atOpen-atKill, n, states)
	page.noExceptions()
}

// TestE2EOrderPageFollowsNewUpdates: the update log is a scrolling box;
// once it is full, a live update must still come into view (it used to be
// appended below the fold), unless the visitor scrolled up to read.
func TestE2EOrderPageFollowsNewUpdates(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	page := newBrowser(t).firstTab("orders")
	page.open(r.URL + "/orders.html")
	const newestInView = `(() => {
		const log = document.getElementById("log"), li = log.lastElementChild;
		const b = log.getBoundingClientRect(), e = li.getBoundingClientRect();
		return e.top >= b.top - 1 && e.bottom <= b.bottom + 1;
	})()`
	const n = 20
	for i := range n {
		r.Publish(t, note(i))
	}
	waitNotes(t, page, n, 10*time.Second)
	var overflows bool
	page.eval(`(() => { const log = document.getElementById("log"); return log.scrollHeight > log.clientHeight; })()`, &overflows)
	if !overflows {
		t.Fatalf("%d updates do not fill the log: the test checks nothing", n)
	}
	page.wait(2*time.Second, "the newest update in view", newestInView)

	// A visitor reading the oldest updates is not pulled down.
	page.eval(`(() => { document.getElementById("log").scrollTop = 0; return true; })()`, nil)
	r.Publish(t, note(n))
	waitNotes(t, page, n+1, 10*time.Second)
	var top float64
	page.eval(`document.getElementById("log").scrollTop`, &top)
	if top != 0 {
		t.Errorf("log scrolled to %v while the visitor read from the top", top)
	}
	page.noExceptions()
}
