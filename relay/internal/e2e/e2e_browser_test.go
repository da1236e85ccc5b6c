package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser side of the e2e tests: one headless Debian Chromium per test
// (tests never run in parallel: the machine has two cores shared with other
// work), a tab type with small helpers that evaluate JavaScript and poll the
// page with a deadline, and the console of every tab kept for the report of
// a failing test.

// pollEvery is how often page conditions are checked. Polling runs inside
// the page (chromedp.Poll), so it costs no round trip per check.
const pollEvery = 5 * time.Millisecond

// slack stretches every deadline of the browser tests. The numbers written
// in the tests are what a page needs on a quiet machine; inside make test
// on a shared 2-core one (a -race compile, Chromium and other packages'
// relays all at once) the same page takes several times longer. A wait
// that succeeds returns as soon as its condition holds, so the slack costs
// a passing test nothing; it only keeps a slow machine from failing one.
const slack = 4

// budget is d with slack.
func budget(d time.Duration) time.Duration { return slack * d }

// chromiumPath returns the chromium binary; without one the test is skipped
// locally and fails in CI (CI must run the browser tests).
func chromiumPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("chromium is not installed (make deps installs it); skipping the browser tests")
		}
		t.Fatalf("CI is set but chromium is not on PATH (make deps installs it): %v", err)
	}
	return path
}

// browser is one Chromium process.
type browser struct {
	t   *testing.T
	ctx context.Context // the first tab; the browser lives as long as it
}

// newBrowser starts headless Chromium with a fresh profile; it stops at
// test cleanup.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	profile := t.TempDir() // registered first, so removed after Chromium exits
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	start := time.Now()
	// The first Run starts the browser; it must not carry a timeout (that
	// would bound the browser's life), so the start is bounded by the test.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))
	return &browser{t: t, ctx: ctx}
}

// tab is one page in the browser.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []string // console messages and exceptions, for failure reports
	errs    []string // uncaught exceptions and unhandled rejections
}

// firstTab returns the browser's initial tab.
func (b *browser) firstTab(name string) *tab {
	return newTab(b.t, name, b.ctx)
}

// isolatedTab opens a tab in a new browser context: its own cookies and
// storage, like a second person on another machine.
func (b *browser) isolatedTab(name string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("%s: open tab in a new browser context: %v", name, err)
	}
	return newTab(b.t, name, ctx)
}

func newTab(t *testing.T, name string, ctx context.Context) *tab {
	tb := &tab{t: t, name: name, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m.String())
			if m.IsException() {
				tb.errs = append(tb.errs, m.String())
			}
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			tb.mu.Lock()
			t.Logf("%s console:\n  %s", name, strings.Join(tb.console, "\n  "))
			tb.mu.Unlock()
		}
	})
	return tb
}

// run runs chromedp actions, bounded by timeout.
func (tb *tab) run(timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, budget(timeout))
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// open navigates to url and waits until the demo page's client is live
// (its module sets window.demo once history is shown and it connected).
func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.run(15*time.Second, "navigate to "+url, chromedp.Navigate(url))
	tb.waitLive(15 * time.Second)
}

// waitLive waits for window.demo.client to be in state "open".
func (tb *tab) waitLive(timeout time.Duration) {
	tb.t.Helper()
	tb.wait(timeout, "client live", `window.demo && window.demo.client && window.demo.client.state === "open"`)
}

// eval evaluates js and decodes its (JSON) value into out.
func (tb *tab) eval(js string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, budget(10*time.Second))
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, js, err)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		tb.t.Fatalf("%s: decode result of %s (%s): %v", tb.name, js, raw, err)
	}
}

// wait polls the JavaScript expression inside the page until it is truthy,
// failing the test after timeout with what it waited for.
func (tb *tab) wait(timeout time.Duration, what, expr string) {
	tb.t.Helper()
	if err := tb.tryWait(timeout, expr); err != nil {
		tb.t.Fatalf("%s: waiting for %s (%s): %v", tb.name, what, expr, err)
	}
}

// tryWait is wait returning the error.
func (tb *tab) tryWait(timeout time.Duration, expr string) error {
	timeout = budget(timeout)
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(pollEvery), chromedp.WithPollingTimeout(timeout)))
	return err
}

// exceptions fails the test if the page threw an uncaught exception or left
// a promise rejection unhandled.
func (tb *tab) noExceptions() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errs) > 0 {
		tb.t.Errorf("%s: uncaught exceptions in the page:\n  %s", tb.name, strings.Join(tb.errs, "\n  "))
	}
}

// screenshot saves a full-page PNG as screenshots/<name>.png (git-ignored).
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("%s: screenshot: %v", tb.name, err)
	}
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		tb.t.Fatalf("screenshots dir: %v", err)
	}
	path := filepath.Join("screenshots", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatalf("write %s: %v", path, err)
	}
	abs, _ := filepath.Abs(path) // only for the log line
	tb.t.Logf("screenshot %s (%d bytes)", abs, len(png))
	return path
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("quote %q: %v", s, err)) // strings always marshal
	}
	return string(b)
}
