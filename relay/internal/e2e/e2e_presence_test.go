package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// Presence in the chat demo across two relays on one Redis: people on
// different relays see each other online; a closed tab leaves within the
// presence interval; a SIGKILLed relay's people leave within the TTL,
// each exactly once.

// Short presence timing so the test is quick; the deadlines below are
// bounds, the measured times are logged.
const (
	presenceInterval = 200 * time.Millisecond
	presenceTTL      = 2 * time.Second
)

// onlineJS lists the subjects the chat page shows online.
const onlineJS = `[...document.querySelectorAll("#online li[data-sub]")].map((li) => li.dataset.sub).sort().join(",")`

// startPresenceRelay starts `relay dev` on Redis with short presence timing.
func startPresenceRelay(t *testing.T, redisURL string) *relaytest.Relay {
	t.Helper()
	return relaytest.Start(t, relaytest.Options{Mode: "dev", RedisURL: redisURL, TokenKey: relaytest.TokenKey, Env: []string{
		"HOOKRELAY_PRESENCE_INTERVAL=" + presenceInterval.String(),
		"HOOKRELAY_PRESENCE_TTL=" + presenceTTL.String(),
	}})
}

// closableTab is isolatedTab with the function that closes the tab.
func closableTab(b *browser, name string) (*tab, context.CancelFunc) {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("%s: open tab in a new browser context: %v", name, err)
	}
	return newTab(b.t, name, ctx), cancel
}

// waitOnline waits until page shows exactly the subjects want (sorted,
// comma-separated) and returns how long that took.
func waitOnline(page *tab, timeout time.Duration, want string) time.Duration {
	page.t.Helper()
	start := time.Now()
	page.wait(timeout, "online: "+want, onlineJS+` === `+jsString(want))
	return time.Since(start)
}

// countLeaves counts the leave entries of sub in the topic's change log.
func countLeaves(t *testing.T, redisURL, topic, sub string) int {
	t.Helper()
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opt)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entries, err := rc.XRange(ctx, "hr:{"+topic+"}:p:l", "-", "+").Result()
	if err != nil {
		t.Fatalf("read the presence log: %v", err)
	}
	n := 0
	for _, e := range entries {
		if e.Values["l"] == sub {
			n++
		}
	}
	return n
}

func TestE2EPresenceAcrossRelays(t *testing.T) {
	srv := startRedis(t)
	a := startPresenceRelay(t, srv.URL())
	bRelay := startPresenceRelay(t, srv.URL())
	br := newBrowser(t)
	alice := br.isolatedTab("alice")
	bob, closeBob := closableTab(br, "bob")
	alice.open(a.URL + "/chat.html?user=alice")
	alice.eval(`(() => { window.__leaves = []; window.demo.online.on("leave", (m) => window.__leaves.push(m.sub)); return true; })()`, nil)
	bob.open(bRelay.URL + "/chat.html?user=bob")

	// Both see each other, across relays, with the names from their tokens.
	took := waitOnline(alice, 10*time.Second, "alice,bob")
	t.Logf("alice (relay A) sees bob (relay B) %s after bob's page was live", took.Round(time.Millisecond))
	waitOnline(bob, 10*time.Second, "alice,bob")
	var name string
	bob.eval(`document.querySelector('#online li[data-sub="alice"]').textContent`, &name)
	if name != "alice" {
		t.Errorf("bob sees alice as %q, want her token's name claim", name)
	}

	// A closed tab leaves within a few intervals.
	closeBob()
	took = waitOnline(alice, 10*time.Second, "alice")
	t.Logf("bob's tab closed -> alice sees him leave after %s (interval %s)", took.Round(time.Millisecond), presenceInterval)

	// A relay killed: its people leave within the TTL, each exactly once.
	carol := br.isolatedTab("carol")
	carol.open(bRelay.URL + "/chat.html?user=carol")
	waitOnline(alice, 10*time.Second, "alice,carol")
	bRelay.Kill(t)
	killed := time.Now()
	waitOnline(alice, presenceTTL+10*time.Second, "alice")
	t.Logf("relay B SIGKILLed -> alice sees carol leave after %s (TTL %s, interval %s)",
		time.Since(killed).Round(time.Millisecond), presenceTTL, presenceInterval)
	var leaves []string
	alice.eval(`window.__leaves`, &leaves)
	if fmt.Sprint(leaves) != "[bob carol]" {
		t.Errorf("alice's page was told of leaves %q, want bob then carol, once each", leaves)
	}
	if n := countLeaves(t, srv.URL(), "room:lobby", "carol"); n != 1 {
		t.Errorf("carol's leave is in the presence log %d times, want exactly once", n)
	}
	alice.noExceptions()
}
