package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests of chat (WebSocket publish between two people) and of the
// order page's unread badge (read cursors kept by the relay).

// chatJS lists the messages of the chat page as "from: text".
const chatJS = `[...document.querySelectorAll("#messages li")].map((li) => li.children[1].textContent + ": " + li.children[2].textContent)`

// tokenSubjectJS is the subject of the token the page's client uses.
const tokenSubjectJS = `JSON.parse(atob(window.demo.client.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub`

// say types text into the chat box and sends it, and waits until the
// publish was acknowledged (the page clears the box then). It returns when
// the send button was clicked.
func say(page *tab, text string) time.Time {
	page.t.Helper()
	page.run(10*time.Second, "type "+text, chromedp.SendKeys(chromedp.CSS("#text"), text))
	clicked := time.Now()
	page.run(10*time.Second, "send "+text, chromedp.Click(chromedp.CSS(`#send button[type="submit"]`)))
	page.wait(5*time.Second, "publish acknowledged", `document.getElementById("text").value === ""`)
	return clicked
}

// watchMessages makes the chat page note when each message text appeared,
// in window.__seen[text] (ms since the epoch).
func watchMessages(page *tab) {
	page.t.Helper()
	page.eval(`(() => {
		window.__seen = {};
		const list = document.getElementById("messages");
		new MutationObserver(() => {
			for (const li of list.children) {
				const text = li.children[2] && li.children[2].textContent;
				if (text && !(text in window.__seen)) window.__seen[text] = Date.now();
			}
		}).observe(list, {childList: true});
		return true;
	})()`, nil)
}

// TestE2EChatBetweenTwoPeople: two people in separate browser contexts, each
// with their own token, chat in #lobby over WebSocket publish; both see the
// whole conversation once and in the same order, and a late joiner gets it
// from history.
func TestE2EChatBetweenTwoPeople(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	b := newBrowser(t)
	alice, bob := b.isolatedTab("alice"), b.isolatedTab("bob")
	alice.open(r.URL + "/chat.html?user=alice")
	bob.open(r.URL + "/chat.html?user=bob")
	for name, page := range map[string]*tab{"alice": alice, "bob": bob} {
		var sub string
		page.eval(tokenSubjectJS, &sub)
		if sub != name {
			t.Errorf("%s's page uses a token for %q", name, sub)
		}
	}

	lines := []struct {
		from *tab
		who  string
		text string
	}{
		{alice, "alice", "Hi Bob, did order 1042 ship?"},
		{bob, "bob", "Yes, UPS picked it up this morning."},
		{alice, "alice", "Great, thanks!"},
	}
	watchMessages(alice)
	watchMessages(bob)
	var want []string
	for _, l := range lines {
		clicked := say(l.from, l.text)
		want = append(want, l.who+": "+l.text)
		var took []string
		for _, page := range []*tab{alice, bob} {
			page.wait(5*time.Second, "message "+l.text, fmt.Sprintf(`%s.includes(%s)`, chatJS, jsString(l.who+": "+l.text)))
			var at int64
			page.eval(`window.__seen[`+jsString(l.text)+`]`, &at)
			took = append(took, page.name+" "+time.UnixMilli(at).Sub(clicked).Round(time.Millisecond).String())
		}
		t.Logf("%s clicked Send -> shown: %s", l.who, strings.Join(took, ", "))
	}
	for name, page := range map[string]*tab{"alice": alice, "bob": bob} {
		var got []string
		page.eval(chatJS, &got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s sees %q, want %q", name, got, want)
		}
		page.noExceptions()
	}

	// Someone joining later gets the conversation from history.
	carol := b.isolatedTab("carol")
	carol.open(r.URL + "/chat.html?user=carol")
	var got []string
	carol.eval(chatJS, &got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("late joiner sees %q, want %q", got, want)
	}
	carol.noExceptions()
}

// badge returns the orders page's unread badge text.
func badge(page *tab) string {
	page.t.Helper()
	var s string
	page.eval(`document.getElementById("unread").textContent`, &s)
	return s
}

// TestE2EUnreadBadgeSurvivesReload: the unread badge counts updates since
// the reader's read cursor, which the relay keeps: after "Mark all read"
// and two more updates, a reload still shows 2, and the whole history.
func TestE2EUnreadBadgeSurvivesReload(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	r.Publish(t, note(0), note(1))
	page := newBrowser(t).firstTab("orders")
	page.open(r.URL + "/orders.html")
	if got := badge(page); got != "2" {
		t.Errorf("badge on first load = %q, want 2 (nothing read yet)", got)
	}
	r.Publish(t, note(2))
	page.wait(5*time.Second, "live update counted", `document.getElementById("unread").textContent === "3"`)

	page.run(5*time.Second, "mark all read", chromedp.Click(chromedp.CSS("#mark-read")))
	page.wait(5*time.Second, "badge cleared", `document.getElementById("unread").textContent === "0"`)
	r.Publish(t, note(3), note(4))
	page.wait(5*time.Second, "two new updates counted", `document.getElementById("unread").textContent === "2"`)

	page.run(10*time.Second, "reload", chromedp.Reload())
	page.waitLive(10 * time.Second)
	if got := badge(page); got != "2" {
		t.Errorf("badge after reload = %q, want 2 (read cursor kept by the relay)", got)
	}
	var notes []string
	page.eval(notesJS, &notes)
	checkNotes(t, notes, 5)
	page.noExceptions()
}
