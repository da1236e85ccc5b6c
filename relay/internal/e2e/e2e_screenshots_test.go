package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2EScreenshots drives every demo page the way a visitor would (the
// Simulate buttons post signed sample webhooks through /demo/simulate, chat
// messages are typed) and saves full-page PNGs under screenshots/
// (git-ignored) for a human to look at.
func TestE2EScreenshots(t *testing.T) {
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	page := newBrowser(t).firstTab("pages")
	page.run(5*time.Second, "viewport", chromedp.EmulateViewport(1280, 800))

	page.run(10*time.Second, "index", chromedp.Navigate(r.URL+"/"))
	page.wait(5*time.Second, "index rendered", `document.querySelectorAll("main .card").length === 2`)
	page.screenshot("index")

	page.open(r.URL + "/orders.html")
	for i, kind := range []string{"order.shipped", "order.out_for_delivery"} {
		page.run(5*time.Second, "simulate "+kind, chromedp.Click(chromedp.CSS(`button[data-simulate="`+kind+`"]`)))
		page.wait(5*time.Second, kind+" shown", `document.querySelectorAll("#log li").length === `+string(rune('1'+i)))
	}
	r.Publish(t, note(0))
	page.wait(5*time.Second, "note shown", `document.querySelectorAll("#log li").length === 3`)
	page.screenshot("orders")

	page.open(r.URL + "/alerts.html")
	page.run(5*time.Second, "simulate alert", chromedp.Click(chromedp.CSS(`button[data-simulate="alert.firing"]`)))
	page.wait(5*time.Second, "alert row", `document.querySelectorAll("#alerts tr").length === 1`)
	page.screenshot("alerts")

	page.open(r.URL + "/chat.html?user=alice")
	say(page, "Morning! Anyone seen the checkout alert?")
	say(page, "It resolved itself after the deploy rollback.")
	page.wait(5*time.Second, "messages shown", `document.querySelectorAll("#messages li").length === 2`)
	page.screenshot("chat")

	// A phone: the same pages at 390 px wide.
	page.run(5*time.Second, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, name := range []string{"orders", "alerts", "chat"} {
		page.open(r.URL + "/" + name + ".html?user=alice")
		var overflow int
		page.eval(`document.documentElement.scrollWidth - window.innerWidth`, &overflow)
		if overflow > 0 {
			t.Errorf("%s is %d px wider than a 390 px phone screen", name, overflow)
		}
		page.screenshot(name + "-phone")
	}
	page.noExceptions()
}
