package hostile

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

func TestMain(m *testing.M) { relaytest.Main(m) }

// Client addresses. The relay sees each as its own client IP.
const (
	controlIP = "127.0.0.1" // the control subscriber and control publishes
	caseIP    = "127.0.0.2" // ordinary cases
	perIPIP   = "127.0.0.3" // the connections-per-IP case
	slowIP    = "127.0.0.4" // slowloris
	// capIPBase: the connection-cap case holds one stream from each of
	// 127.0.0.10, .11, ... so that the per-IP limit does not stop it first.
	capIPBase = 10
)

// Limits the relay runs with: small, so that the cases are cheap.
const (
	maxBodyBytes  = 256 << 10 // > 100k '[' so the nesting case reaches the parser
	maxEventBytes = 8 << 10
	wsReadLimit   = 32 << 10
	maxTopics     = 4
	maxConns      = 8
	connsPerIP    = 2
	publishRate   = 1
	publishBurst  = 5
	heartbeat     = time.Second
)

// Secrets of the webhook sources and the API keys (test values).
const (
	stripeSecret   = "whsec_hostile_stripe_secret"
	shopifySecret  = "hostile-shopify-secret"
	controlSecret  = "hostile-control-bearer-token"
	limitedKeyName = "limited"
	limitedKey     = "hostile-limited-api-key-0123456789"
	jwksKid        = "hostile-rsa-1"
)

// standardSecret is a Standard Webhooks secret: whsec_ + base64 of 32 bytes.
var standardSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("hostile-standard-webhooks-key-32b"))

// env is the relay under attack and what the cases need to talk to it.
type env struct {
	r      *relaytest.Relay
	addr   string
	url    string
	client *http.Client // from caseIP
	rsaPEM []byte       // the JWKS public key, PEM (algorithm-confusion case)
}

// configYAML has one source per provider the cases attack, plus the
// control source (bearer) through which the control events are published:
// webhooks are not rate-limited, so the control stream does not depend on
// the publish limits the cases exhaust.
func configYAML() string {
	return fmt.Sprintf(`sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
    tolerance: 5m
    preset: stripe
  - name: shop
    provider: shopify
    secrets: [%q]
    preset: shopify
  - name: billing
    provider: standard
    secrets: [%q]
    rules:
      - match: {type: "invoice.*"}
        events:
          - topic: 'invoice:{{.Body.data.id}}'
  - name: control
    provider: bearer
    secrets: [%q]
    rules:
      - match: {type: "control"}
        events:
          - topic: 'control:main'
            data: '{"n":{{json .Body.n}}}'
`, stripeSecret, shopifySecret, standardSecret, controlSecret)
}

// writeJWKS writes a JWK Set with one RSA key and returns its public key
// as PEM: the bytes an attacker would use as an HS256 secret.
func writeJWKS(t *testing.T, path string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub := &key.PublicKey
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": jwksKid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
	b, err := json.Marshal(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// startRelay starts the relay under attack with the limits above; extra
// environment (HOOKRELAY_*=...) comes last and wins.
func startRelay(t *testing.T, extra ...string) *env {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hookrelay.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks := filepath.Join(dir, "jwks.json")
	pemKey := writeJWKS(t, jwks)
	srv := redistest.Start(t)
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL(), Env: append([]string{
		"HOOKRELAY_CONFIG=" + cfg,
		"HOOKRELAY_JWKS_FILE=" + jwks,
		"HOOKRELAY_TOKEN_ISSUER=https://hostile-issuer.example/",
		"HOOKRELAY_API_KEYS=" + relaytest.APIKeyName + ":" + relaytest.APIKey + "," + limitedKeyName + ":" + limitedKey,
		"HOOKRELAY_MAX_BODY_BYTES=" + strconv.Itoa(maxBodyBytes),
		"HOOKRELAY_MAX_EVENT_BYTES=" + strconv.Itoa(maxEventBytes),
		"HOOKRELAY_WS_READ_LIMIT=" + strconv.Itoa(wsReadLimit),
		"HOOKRELAY_MAX_TOPICS_PER_CONNECTION=" + strconv.Itoa(maxTopics),
		"HOOKRELAY_MAX_CONNECTIONS=" + strconv.Itoa(maxConns),
		"HOOKRELAY_CONNECTIONS_PER_IP=" + strconv.Itoa(connsPerIP),
		"HOOKRELAY_PUBLISH_RATE=" + strconv.Itoa(publishRate),
		"HOOKRELAY_PUBLISH_BURST=" + strconv.Itoa(publishBurst),
		"HOOKRELAY_TOKEN_PUBLISH_RATE=" + strconv.Itoa(publishRate),
		"HOOKRELAY_TOKEN_PUBLISH_BURST=" + strconv.Itoa(publishBurst),
		// Idle SSE streams are hijacked and have no reader: the relay
		// notices a client that went away at its next heartbeat write. A
		// short heartbeat lets the cases check that nothing leaks.
		"HOOKRELAY_HEARTBEAT=" + heartbeat.String(),
	}, extra...)})
	return &env{r: r, addr: r.Addr, url: r.URL, client: httpClientFrom(caseIP), rsaPEM: pemKey}
}

// control is the subscriber that must see every control event exactly once.
type control struct {
	e      *env
	stream *sseStream
	got    chan int   // n of each control event, in arrival order
	errc   chan error // the stream ended or sent something unexpected
	seen   map[int]int
	next   int
	pubs   *http.Client
}

func startControl(t *testing.T, e *env) *control {
	t.Helper()
	tok := e.r.Token(t, "control", []string{"control:*"}, nil)
	s, a := openSSE(t, controlIP, e.addr, "/v1/sse?topic=control:main", http.Header{"Authorization": {"Bearer " + tok}})
	if s == nil {
		t.Fatalf("control subscriber refused: %s", a)
	}
	c := &control{e: e, stream: s, got: make(chan int, 64), errc: make(chan error, 1), seen: map[int]int{},
		pubs: httpClientFrom(controlIP)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.read()
	}()
	t.Cleanup(func() {
		s.Close()
		wg.Wait()
	})
	return c
}

// read runs until the stream ends.
func (c *control) read() {
	for {
		f, err := c.stream.next()
		if err != nil {
			c.errc <- fmt.Errorf("control stream ended: %w", err)
			return
		}
		if f.event != "" {
			c.errc <- fmt.Errorf("control stream got event %q: %s", f.event, f.data)
			return
		}
		var ev struct {
			Topic string `json:"topic"`
			Data  struct {
				N *int `json:"n"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(f.data), &ev); err != nil || ev.Data.N == nil || ev.Topic != "control:main" {
			c.errc <- fmt.Errorf("control stream got an unexpected event %q (%v)", f.data, err)
			return
		}
		c.got <- *ev.Data.N
	}
}

// check publishes the next control event through the control webhook and
// waits for it on the control stream: the relay still accepts webhooks and
// still delivers to an unrelated subscriber.
func (c *control) check(t *testing.T, after string) {
	t.Helper()
	n := c.next
	c.next++
	body := []byte(fmt.Sprintf(`{"type":"control","n":%d}`, n))
	req, _ := http.NewRequest(http.MethodPost, c.e.url+"/hooks/control", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+controlSecret)
	req.Header.Set("Content-Type", "application/json")
	a := do(t, c.pubs, req)
	if a.status != http.StatusOK {
		t.Fatalf("after %s: control publish %d: %s", after, n, a)
	}
	timeout := time.NewTimer(controlTimeout)
	defer timeout.Stop()
	for {
		select {
		case got := <-c.got:
			c.seen[got]++
			if got == n {
				return
			}
		case err := <-c.errc:
			t.Fatalf("after %s: %v", after, err)
		case <-timeout.C:
			t.Fatalf("after %s: control event %d not delivered within %s", after, n, controlTimeout)
		}
	}
}

// verify: every control event arrived exactly once.
func (c *control) verify(t *testing.T) {
	t.Helper()
	for n := range c.next {
		if c.seen[n] != 1 {
			t.Errorf("control event %d delivered %d times", n, c.seen[n])
		}
	}
	if len(c.seen) != c.next {
		t.Errorf("control stream saw %d distinct events, published %d: %v", len(c.seen), c.next, c.seen)
	}
}

// TestBadInput runs every case of the table against one relay, checking
// the control stream after each.
func TestBadInput(t *testing.T) {
	e := startRelay(t)
	ctrl := startControl(t, e)
	ctrl.check(t, "start")
	slow := startSlowloris(t, e)

	cases := badCases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) { c.exec(t, e) })
		select {
		case <-e.r.Done():
			t.Fatalf("relay exited after case %s; %s", c.name, e.r.LastWords())
		default:
		}
		ctrl.check(t, c.name)
		// Whatever the case opened is closed again: no connection leaks
		// out of a refused or broken request.
		e.waitConnections(t, 1)
	}
	t.Run("http/slowloris", func(t *testing.T) { slow.verify(t) })
	ctrl.check(t, "slowloris")
	ctrl.verify(t)
	t.Logf("%d cases, %d control events delivered once each", len(cases)+1, ctrl.next)
	// Error-level lines are expected (an unmappable delivery is logged as
	// one); a panic is not, even a recovered one.
	if log := e.r.Stderr(); strings.Contains(log, "panic") || strings.Contains(log, `"code":"internal"`) ||
		strings.Contains(log, "DATA RACE") { // HOOKRELAY_RELAYTEST_RACE=1 builds the relay with -race
		t.Errorf("relay logged a panic, an internal error or a data race:\n%s", errorLines(log))
	}
	// Credentials never reach the log, whatever the request did with them
	// (tokens in queries, cookies and headers, keys, webhook secrets), at
	// relaytest's debug log level.
	log := e.r.Stderr()
	for _, secret := range []string{"eyJ", relaytest.APIKey, limitedKey, controlSecret, shopifySecret, stripeSecret, standardSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("relay log contains a credential (%.6s…)", secret)
		}
	}
}

// errorLines picks the log lines worth reading from a JSON log.
func errorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "panic") || strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"code":"internal"`) || strings.Contains(l, "DATA RACE") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
