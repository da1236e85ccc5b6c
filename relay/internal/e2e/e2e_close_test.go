package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestE2EClientCloseCodes: hookrelay.js splits the relay's close codes as
// docs/protocol.md does. A refusal (the node at its connection cap: WS
// close 1013 "over_capacity;retry=<ms>", SSE close event with retry) is
// retried no sooner than the hint; a final code (1009, a frame over the
// read limit) stops the client for good with final: true.
func TestE2EClientCloseCodes(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Env: []string{"HOOKRELAY_MAX_CONNECTIONS=1"}})
	page := newBrowser(t).firstTab("close codes")
	page.run(10*time.Second, "blank page", chromedp.Navigate(r.URL+"/"))
	page.eval(`(async () => {
		const { connect } = await import("/hookrelay.js");
		window.__c = {};
		const start = (name, opts) => {
			const r = { states: [] };
			window.__c[name] = r;
			r.client = connect({ topics: ["order:1042"], ...opts });
			r.client.onState((s, d) => r.states.push({ s, code: (d && d.code) || 0, wait: (d && d.wait) || 0, final: !!(d && d.final) }));
		};
		start("big", { transport: "ws" }); // takes the one slot
		return true;
	})()`, nil)
	page.wait(10*time.Second, "the first client open", `window.__c.big.client.state === "open"`)

	// The node is full: both transports are refused as retryable and wait
	// at least the hint (5-10 s for over_capacity).
	page.eval(`(async () => {
		const { connect } = await import("/hookrelay.js");
		for (const transport of ["ws", "sse"]) {
			const r = { states: [] };
			window.__c[transport] = r;
			r.client = connect({ topics: ["order:1042"], transport });
			r.client.onState((s, d) => r.states.push({ s, code: (d && d.code) || 0, wait: (d && d.wait) || 0, final: !!(d && d.final) }));
		}
		return true;
	})()`, nil)
	for _, tr := range []string{"ws", "sse"} {
		page.wait(15*time.Second, tr+" refused as retryable", `window.__c.`+tr+`.states.some((x) => x.s === "reconnecting" && x.code === 1013)`)
		var wait int
		page.eval(`window.__c.`+tr+`.states.find((x) => x.s === "reconnecting" && x.code === 1013).wait`, &wait)
		if wait < 5000 || wait >= 10000 {
			t.Errorf("%s: waits %d ms after over_capacity, want the relay's hint (5-10 s)", tr, wait)
		}
	}

	// A frame over the read limit: the relay closes 1009, final.
	page.eval(`window.__c.big.client.publish("order:1042", "big", { pad: "x".repeat(70000) }).catch(() => {}); true`, nil)
	if err := page.tryWait(10*time.Second, `(() => {
		const r = window.__c.big, last = r.states[r.states.length - 1];
		return last.s === "closed" && last.code === 1009 && last.final && r.client.closed && r.client.conn === null;
	})()`); err != nil {
		var states any
		page.eval(`window.__c.big.states`, &states)
		t.Fatalf("the client did not stop on 1009: %v; states %v", err, states)
	}
	page.wait(10*time.Second, "the client stopped on 1009", `(() => {
		const r = window.__c.big, last = r.states[r.states.length - 1];
		return last.s === "closed" && last.code === 1009 && last.final && r.client.closed && r.client.conn === null;
	})()`)
}
