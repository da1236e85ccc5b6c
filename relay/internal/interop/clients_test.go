package interop

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookrelay/hookrelay/relay/web"
)

// nodeKinds are the npm clients of testdata/clients.mjs.
func nodeKinds() []string {
	return []string{"eventsource5", "eventsource4", "fetch-event-source", "ws"}
}

// clientLog is what one client reported.
type clientLog struct {
	name     string
	seqs     map[string][]int // topic -> seqs in arrival order
	open     bool
	downAt   int64 // ms of the first "down" since the last "open"; 0 while open
	reconn   []time.Duration
	gaveUp   string
	spurious []string
	lastLine string
}

// logs collects the observation lines of every client of a scenario.
type logs struct {
	mu      sync.Mutex
	clients map[string]*clientLog
}

func newLogs() *logs { return &logs{clients: map[string]*clientLog{}} }

func (l *logs) get(name string) *clientLog {
	c := l.clients[name]
	if c == nil {
		c = &clientLog{name: name, seqs: map[string][]int{}}
		l.clients[name] = c
	}
	return c
}

// line records "<ms> <name> <what> ..." (testdata/clients.mjs, page.html).
func (l *logs) line(s string) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.get(f[1])
	c.lastLine = s
	if os.Getenv("HOOKRELAY_INTEROP_DEBUG") != "" {
		fmt.Fprintln(os.Stderr, s) // every observation, to see a scenario unfold
	}
	switch f[2] {
	case "open":
		if c.downAt > 0 {
			c.reconn = append(c.reconn, time.Duration(ms-c.downAt)*time.Millisecond)
		}
		c.open, c.downAt = true, 0
	case "down":
		if c.downAt == 0 {
			c.downAt = ms
		}
		c.open = false
	case "gaveup":
		c.open, c.gaveUp = false, strings.Join(f[3:], " ")
	case "spurious":
		c.spurious = append(c.spurious, strings.Join(f[3:], " "))
	case "event":
		if len(f) == 5 {
			if seq, err := strconv.Atoi(f[4]); err == nil {
				c.seqs[f[3]] = append(c.seqs[f[3]], seq)
			}
		}
	}
}

// states lists every client's last line, for failure reports.
func (l *logs) states() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, n := range sortedKeys(l.clients) {
		fmt.Fprintf(&b, "\n  %s: open=%t gave up %q, last line %q", n, l.clients[n].open, l.clients[n].gaveUp, l.clients[n].lastLine)
	}
	return b.String()
}

// allOpen: every expected client reported open and is not down.
func (l *logs) allOpen(expected int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clients) < expected {
		return false
	}
	for _, c := range l.clients {
		if !c.open {
			return false
		}
	}
	return true
}

// caughtUp: every client is open and holds at least want[topic] distinct
// seqs of every topic, or gave up (which fails the check later).
func (l *logs) caughtUp(want map[string]int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.clients {
		if c.gaveUp != "" {
			continue
		}
		if !c.open {
			return false
		}
		for topic, n := range want {
			if distinct(c.seqs[topic]) < n {
				return false
			}
		}
	}
	return true
}

func distinct(seqs []int) int {
	seen := map[int]bool{}
	for _, s := range seqs {
		seen[s] = true
	}
	return len(seen)
}

// nodeModules is where make deps installs testdata/package.json.
func nodeModules(t *testing.T) (node string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("testdata", "node_modules", "ws"))
	}
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("node or relay/interop/testdata/node_modules missing (make deps installs them): %v", err)
		}
		t.Fatalf("CI is set but node or the interop npm clients are missing (make deps): %v", err)
	}
	return node
}

// startNodeClient runs one npm client; its lines go to l. The process is
// killed at cleanup.
func startNodeClient(t *testing.T, node, kind, name, base, token string, topics []string, l *logs) {
	t.Helper()
	args := append([]string{filepath.Join("testdata", "clients.mjs"), kind, name, base, token}, topics...)
	cmd := exec.Command(node, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.line(sc.Text())
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // gone already is fine
		<-done
		_ = cmd.Wait() // killed: the error says so
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// pageServer serves testdata/page.html and hookrelay.js: the browser
// clients' origin (the relays allow it with HOOKRELAY_ALLOWED_ORIGINS).
func pageServer(t *testing.T) *httptest.Server {
	t.Helper()
	page, err := os.ReadFile(filepath.Join("testdata", "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page) // a failed write shows up as a page that never starts
	})
	mux.Handle("GET /hookrelay.js", http.FileServerFS(web.Files()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// browser is one headless Chromium for the whole suite.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("chromium is not installed (make deps installs it)")
		}
		t.Fatalf("CI is set but chromium is not on PATH: %v", err)
	}
	profile := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(profile))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browserClients are the names page.html reports under.
func browserClients() []string {
	return []string{"chromium-eventsource", "chromium-hookrelay.js-ws", "chromium-hookrelay.js-sse"}
}

// startBrowserClients opens page.html in a new tab against base and feeds
// its lines to l until the test ends.
func startBrowserClients(t *testing.T, bctx context.Context, page, base, token string, topics []string, l *logs) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	cfg := `{"base":` + strconv.Quote(base) + `,"token":` + strconv.Quote(token) + `,"topics":["` + strings.Join(topics, `","`) + `"]}`
	// The first Do opens the tab, which lives as long as the context of
	// that call: it must not carry the navigation's timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	nctx, ncancel := context.WithTimeout(ctx, 30*time.Second)
	defer ncancel()
	err := chromedp.Do(nctx, chromedp.Navigate(page+"/page.html#"+url.PathEscape(cfg)))
	if err == nil {
		_, err = chromedp.Run(nctx, chromedp.Poll[chromedp.Void](`window.__started === true`, chromedp.WithPollingTimeout(20*time.Second)))
	}
	if err != nil {
		cancel()
		t.Fatalf("open the browser clients: %v", err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
			lines, err := chromedp.Run(ectx, chromedp.Evaluate[[]string](`window.__lines.splice(0)`))
			ecancel()
			if err != nil {
				if ctx.Err() == nil {
					t.Logf("collect browser lines: %v", err) // a busy page answers next time
				}
				continue
			}
			for _, s := range lines {
				l.line(s)
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped; cancel() })
}
