package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// Browser tests of hookrelay.js itself (not a demo page): token refresh over
// SSE and WebSocket, the 4001 path, and a token that expired before the
// client connected — each while events keep coming, none lost or repeated.

// libHarnessJS starts four clients in the page, each recording the notes it
// received, its states and its token refreshes in window.__c[name].
const libHarnessJS = `(async (short, expired) => {
	const { connect } = await import("/hookrelay.js");
	const fresh = async () => (await (await fetch("/demo/token?sub=lib")).json()).token;
	// Every WebSocket URL the page opens: tokens must not be in them (I6).
	window.__wsURLs = [];
	const W = window.WebSocket;
	window.WebSocket = class extends W { constructor(u, p) { window.__wsURLs.push(String(u)); super(u, p); } };
	window.__c = {};
	const start = (name, opts) => {
		const r = { notes: [], states: [], refreshes: 0 };
		window.__c[name] = r;
		const c = connect({ topics: ["order:1042"], ...opts,
			refreshToken: async () => { r.refreshes++; r.states.push({ s: "refresh", at: Date.now(), code: 0 }); return fresh(); } });
		c.on("order.note", (ev) => r.notes.push(ev.data.title));
		c.onState((s, d) => r.states.push({ s, at: Date.now(), code: (d && d.code) || 0 }));
	};
	// Refreshes 1.5 s before exp and reconnects from its cursor.
	start("sse", { token: short, refreshBefore: 1500 });
	// Refreshes 1.5 s before exp with an auth frame on the open connection.
	start("ws", { token: short, transport: "ws", refreshBefore: 1500 });
	// Never refreshes in time: the relay closes with 4001 at exp.
	start("sse4001", { token: short, refreshBefore: -60000 });
	// Already expired: refreshed before the first connection.
	start("expired", { token: expired });
	// A token the relay refuses in the auth frame, no refreshToken: the
	// client stops as after a 4001 close, it does not retry for ever.
	window.__bad = [];
	connect({ topics: ["order:1042"], transport: "ws", token: "not.a.token" })
		.onState((s, d) => window.__bad.push({ s, code: (d && d.code) || 0, final: !!(d && d.final) }));
	return true;
})`

type libClient struct {
	Notes     []string      `json:"notes"`
	States    []stateChange `json:"states"`
	Refreshes int           `json:"refreshes"`
}

func mint(t *testing.T, ttl time.Duration, now time.Time) string {
	t.Helper()
	tok, err := auth.Mint(relaytest.TokenKey, auth.MintClaims{Subject: "lib", Topics: []string{"order:*"}, TTL: ttl, Audience: "hookrelay", Now: now})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// TestE2EClientTokenRefresh: short-lived tokens are refreshed by
// hookrelay.js (SSE reconnects with its cursor, WebSocket sends an auth
// frame, a 4001 close leads to refresh and resume, an expired token is
// refreshed before connecting) while a backend keeps publishing; every
// client receives every note once, in order.
func TestE2EClientTokenRefresh(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	page := newBrowser(t).firstTab("client")
	page.run(10*time.Second, "blank page", chromedp.Navigate(r.URL+"/"))
	short := mint(t, 3*time.Second, time.Now())
	expired := mint(t, time.Hour, time.Now().Add(-2*time.Hour))
	page.eval(fmt.Sprintf("%s(%s, %s)", libHarnessJS, jsString(short), jsString(expired)), nil)
	page.wait(10*time.Second, "every client open", `Object.values(window.__c).every((r) => r.states.some((x) => x.s === "open"))`)

	f := startFeed(r.Publisher(), 25*time.Millisecond)
	page.wait(15*time.Second, "refreshes and the 4001 resume", `(() => {
		const c = window.__c, lastOpen = (r) => r.states[r.states.length - 1].s === "open";
		return c.sse.refreshes >= 1 && lastOpen(c.sse) && c.ws.refreshes >= 1 &&
			c.sse4001.states.some((x) => x.code === 4001) && c.sse4001.refreshes >= 1 && lastOpen(c.sse4001);
	})()`)
	k := f.published()
	page.wait(5*time.Second, "live notes after the refreshes", fmt.Sprintf(`Object.values(window.__c).every((r) => r.notes.includes("note %d"))`, k+3))
	n := f.Stop(t)
	page.wait(10*time.Second, "every note everywhere", fmt.Sprintf(`Object.values(window.__c).every((r) => r.notes.includes("note %d"))`, n-1))

	page.wait(5*time.Second, "the refused token stops its client", `window.__bad.some((x) => x.s === "closed" && x.code === 4001 && x.final)`)
	var urls []string
	page.eval(`window.__wsURLs`, &urls)
	if len(urls) < 2 {
		t.Errorf("the page opened %d WebSockets, want at least 2: %v", len(urls), urls)
	}
	for _, u := range urls {
		if strings.Contains(u, "token") {
			t.Errorf("WebSocket URL carries the token: %s", u)
		}
	}

	var clients map[string]libClient
	page.eval(`window.__c`, &clients)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			checkNotes(t, c.Notes, n)
			var states []string
			for _, s := range c.States {
				states = append(states, fmt.Sprintf("%s/%d", s.S, s.Code))
			}
			t.Logf("%d refreshes; states %s", c.Refreshes, strings.Join(states, " "))
			switch name {
			case "ws":
				// The auth frame extends the open connection: no reconnect.
				if strings.Contains(strings.Join(states, " "), "reconnecting") {
					t.Errorf("WebSocket reconnected for a token refresh: %v", states)
				}
			case "sse":
				if strings.Contains(strings.Join(states, " "), "/4001") {
					t.Errorf("SSE refreshed too late (saw 4001): %v", states)
				}
			case "expired":
				// One refresh, then the first connection succeeds: no
				// attempt with the dead token, no retry.
				joined := strings.Join(states, " ")
				if c.Refreshes != 1 || strings.Index(joined, "refresh/0") > strings.Index(joined, "open/0") || strings.Contains(joined, "reconnecting") {
					t.Errorf("expired token: %d refreshes, states %v; want one refresh before the first connection", c.Refreshes, states)
				}
			}
		})
	}
	page.noExceptions()
}

// persistHarnessJS connects one client with persist: true and keeps the
// notes it received in sessionStorage too, so they survive a reload.
const persistHarnessJS = `(async () => {
	const { connect } = await import("/hookrelay.js");
	const token = (await (await fetch("/demo/token?sub=persist")).json()).token;
	window.__notes = JSON.parse(sessionStorage.getItem("e2e-notes") || "[]");
	const c = connect({ topics: ["order:1042"], token, persist: true });
	c.on("order.note", (ev) => {
		window.__notes.push(ev.data.title);
		sessionStorage.setItem("e2e-notes", JSON.stringify(window.__notes));
	});
	window.__client = c;
	return true;
})()`

// TestE2EClientPersistAndTruncated: with persist: true a reload resumes
// from the position kept in sessionStorage (the events published while the
// tab was away arrive, nothing twice); a client resuming from a position
// older than the history still kept is told "truncated" before the oldest
// kept event.
func TestE2EClientPersistAndTruncated(t *testing.T) {
	srv := startRedis(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: srv.URL(), TokenKey: relaytest.TokenKey,
		Env: []string{"HOOKRELAY_HISTORY_LEN=10"}})
	page := newBrowser(t).firstTab("client")

	page.run(10*time.Second, "blank page", chromedp.Navigate(r.URL+"/"))
	page.eval(persistHarnessJS, nil)
	page.wait(10*time.Second, "client open", `window.__client.state === "open"`)
	r.Publish(t, note(0), note(1), note(2))
	page.wait(5*time.Second, "first notes", `window.__notes.length === 3`)
	page.run(10*time.Second, "leave the page", chromedp.Navigate("about:blank"))
	r.Publish(t, note(3), note(4)) // while the tab is elsewhere
	page.run(10*time.Second, "come back", chromedp.Navigate(r.URL+"/"))
	page.eval(persistHarnessJS, nil)
	page.wait(10*time.Second, "client open again", `window.__client.state === "open"`)
	r.Publish(t, note(5))
	page.wait(5*time.Second, "the missed notes and a live one", `window.__notes.includes("note 5")`)
	var notes []string
	page.eval(`window.__notes`, &notes)
	checkNotes(t, notes, 6)

	// 300 events on a topic whose history keeps about 10 (Redis trims
	// whole stream nodes, so somewhat more stay): resuming after the first
	// one cannot be gap-free.
	const topic = "order:7"
	var first string
	for batch := 0; batch < 3; batch++ {
		var msgs []client.Message
		for i := batch * 100; i < (batch+1)*100; i++ {
			m := note(i)
			m.Topic = topic
			msgs = append(msgs, m)
		}
		out := r.Publish(t, msgs...)
		if first == "" {
			first = out[0].ID
		}
	}
	page.eval(fmt.Sprintf(`(async () => {
		const { connect } = await import("/hookrelay.js");
		const token = (await (await fetch("/demo/token?sub=late")).json()).token;
		window.__log = [];
		const c = connect({ topics: [%[1]s], token, positions: { [%[1]s]: %[2]s } });
		c.on("*", (ev) => window.__log.push(ev.data.title));
		c.onState((s, d) => { if (s === "truncated") window.__log.push("truncated " + d.topic); });
		return true;
	})()`, jsString(topic), jsString(first)), nil)
	page.wait(10*time.Second, "the newest event after the truncation notice", `window.__log.includes("note 299")`)
	var log []string
	page.eval(`window.__log`, &log)
	if len(log) < 2 || log[0] != "truncated "+topic {
		t.Fatalf("log starts %v, want the truncated notice first", log[:min(3, len(log))])
	}
	// After the notice: a gap-free run up to note 299, starting after note 1.
	var start int
	if _, err := fmt.Sscanf(log[1], "note %d", &start); err != nil || start <= 1 {
		t.Fatalf("first event after the notice is %q, want a note after note 1", log[1])
	}
	for i, title := range log[1:] {
		if want := fmt.Sprintf("note %d", start+i); title != want {
			t.Fatalf("event %d after the notice is %q, want %q", i, title, want)
		}
	}
	if start+len(log)-2 != 299 {
		t.Errorf("run ends at note %d, want 299", start+len(log)-2)
	}
	t.Logf("resumed after note 0 with history len 10: truncated, then notes %d…299 (%d events)", start, len(log)-1)
	page.noExceptions()
}
