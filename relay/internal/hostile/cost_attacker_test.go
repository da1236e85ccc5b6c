package hostile

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/api"
)

// attackIP is where TestCostBounds' attacks come from: its own address,
// so per-address limits bind the attacker and not the honest pair.
const attackIP = "127.0.0.40"

// attackEnv carries an attackSpec (JSON) to the attacker process.
const attackEnv = "HOOKRELAY_ATTACKER"

// attackSpec is one phase's attack, run by TestAttacker in a process of
// its own (a re-exec of the test binary): the attack's CPU is then its
// own, measured by the parent from the child's rusage, and the attack's
// goroutines do not share a Go scheduler with the honest pair.
type attackSpec struct {
	Kind  string // unread, history, uniqueKeys, manyTopics, manySignatures, stalledReplays
	URL   string
	Addr  string
	Token string
	// Rate is requests per second over all workers; 0 sends as fast as
	// Workers go (the flood variant). Requests the workers cannot take at
	// their tick are counted as Behind, not queued.
	Rate    float64
	Workers int // concurrent requests (stalledReplays: streams held)
	For     time.Duration
	Out     string // where the child writes its attackResult
}

// attackResult is what the attacker process saw.
type attackResult struct {
	Answers map[string]int // by status ("error" for transport errors)
	Behind  int            // paced ticks no worker was free for
	CPU     time.Duration  // the attacker process's user + system time (set by the parent)
}

// runAttacker runs spec in a child process and waits for it.
func runAttacker(t *testing.T, spec attackSpec) attackResult {
	t.Helper()
	spec.Out = fmt.Sprintf("%s/attack-%d.json", t.TempDir(), time.Now().UnixNano())
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttacker$", "-test.count=1")
	cmd.Env = append(os.Environ(), attackEnv+"="+string(raw))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("attacker process: %v\n%s", err, out)
	}
	b, err := os.ReadFile(spec.Out)
	if err != nil {
		t.Fatalf("attacker result: %v\n%s", err, out)
	}
	var res attackResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("attacker result %q: %v", b, err)
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res
}

// TestAttacker is the attacker process of TestCostBounds; run directly it
// skips.
func TestAttacker(t *testing.T) {
	raw := os.Getenv(attackEnv)
	if raw == "" {
		t.Skip("the attacker process of TestCostBounds (" + attackEnv + " unset)")
	}
	var spec attackSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	a := &attacker{spec: spec, res: attackResult{Answers: map[string]int{}}, hc: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: dialerFrom(attackIP).DialContext,
			MaxIdleConnsPerHost: max(spec.Workers, 2)},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), spec.For)
	defer cancel()
	if spec.Kind == "stalledReplays" {
		a.stalledReplays(ctx)
	} else {
		a.run(ctx, a.request(t))
	}
	b, err := json.Marshal(a.res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec.Out, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

type attacker struct {
	spec attackSpec
	hc   *http.Client
	mu   sync.Mutex
	res  attackResult
}

func (a *attacker) count(k string) {
	a.mu.Lock()
	a.res.Answers[k]++
	a.mu.Unlock()
}

// run sends one() from Workers goroutines until ctx ends: paced at Rate
// (a tick no worker is free for is skipped and counted), or back to back.
// A request under way when ctx ends finishes (bounded by the client's
// timeout) rather than counting as an error.
func (a *attacker) run(ctx context.Context, one func(context.Context) string) {
	reqCtx := context.WithoutCancel(ctx)
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range a.spec.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if a.spec.Rate > 0 {
					select {
					case <-ctx.Done():
						return
					case <-jobs:
					}
				} else if ctx.Err() != nil {
					return
				}
				a.count(one(reqCtx))
			}
		}()
	}
	if a.spec.Rate > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / a.spec.Rate))
		defer tick.Stop()
	pace:
		for {
			select {
			case <-ctx.Done():
				break pace
			case <-tick.C:
			}
			select {
			case jobs <- struct{}{}:
			default:
				a.mu.Lock()
				a.res.Behind++
				a.mu.Unlock()
			}
		}
	}
	wg.Wait()
}

// request builds the spec's request function.
func (a *attacker) request(t *testing.T) func(context.Context) string {
	s := a.spec
	switch s.Kind {
	case "unread":
		return func(ctx context.Context) string { return a.get(ctx, "/v1/topics/room:m1/unread") }
	case "history":
		return func(ctx context.Context) string { return a.get(ctx, "/v1/topics/room:m1/events?limit=1000") }
	case "uniqueKeys":
		return a.uniqueKeys
	case "manyTopics":
		return a.manyTopics()
	case "manySignatures":
		return a.manySignatures()
	}
	t.Fatalf("unknown attack %q", s.Kind)
	return nil
}

// do sends req and returns its status (or "error"), draining the body.
func (a *attacker) do(req *http.Request) string {
	resp, err := a.hc.Do(req)
	if err != nil {
		return "error"
	}
	_, _ = io.Copy(io.Discard, resp.Body) // only the status is counted
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

func (a *attacker) get(ctx context.Context, path string) string {
	req, _ := http.NewRequestWithContext(ctx, "GET", a.spec.URL+path, nil) // constant URL
	req.Header.Set("Authorization", "Bearer "+a.spec.Token)
	return a.do(req)
}

// uniqueKeys publishes one token event with a fresh idempotency key of the
// largest length a token publisher may use (the review's 160 bytes are now
// refused as 400) to a fresh topic (M2: a wildcard grant).
func (a *attacker) uniqueKeys(ctx context.Context) string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // never fails
	key := hex.EncodeToString(b)
	key = strings.Repeat("k", api.MaxTokenIdempotencyKeyLen-len(key)) + key
	ev := fmt.Sprintf(`{"topic":"room:%s","type":"m","idempotency_key":"%s"}`, hex.EncodeToString(b[:6]), key)
	req, _ := http.NewRequestWithContext(ctx, "POST", a.spec.URL+"/v1/publish", strings.NewReader(`{"events":[`+ev+`]}`))
	req.Header.Set("Authorization", "Bearer "+a.spec.Token)
	req.Header.Set("Content-Type", "application/json")
	return a.do(req)
}

// manyTopics sends the unauthenticated 60 KB SSE request of M3.
func (a *attacker) manyTopics() func(context.Context) string {
	q := make([]string, 4700)
	for i := range q {
		q[i] = "topic=a:" + strconv.Itoa(i)
	}
	path := "/v1/sse?" + strings.Join(q, "&")
	return func(ctx context.Context) string {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.spec.URL+path, nil)
		return a.do(req)
	}
}

// manySignatures posts M4's 1 MiB Standard Webhooks body with 84 random
// signatures and a current timestamp.
func (a *attacker) manySignatures() func(context.Context) string {
	body := `{"a":"` + strings.Repeat("a", 1_000_000) + `"}`
	sigs := make([]string, 84)
	for i := range sigs {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(b)
	}
	sig := strings.Join(sigs, " ")
	return func(ctx context.Context) string {
		req, _ := http.NewRequestWithContext(ctx, "POST", a.spec.URL+"/hooks/billing", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", "m1")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		return a.do(req)
	}
}

// stalledReplays opens Workers SSE streams that replay the big topic from
// 0-0 and never read, held until ctx ends.
func (a *attacker) stalledReplays(ctx context.Context) {
	var conns []net.Conn
	for range a.spec.Workers {
		conn, err := dialerFrom(attackIP).Dial("tcp", a.spec.Addr)
		if err != nil {
			a.count("dial error")
			continue
		}
		fmt.Fprintf(conn, "GET /v1/sse?topic=room:m1 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nLast-Event-ID: 0-0\r\n\r\n", a.spec.Addr, a.spec.Token)
		conns = append(conns, conn)
		a.count("opened")
	}
	<-ctx.Done()
	for _, conn := range conns {
		conn.Close()
	}
}
