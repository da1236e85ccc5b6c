package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// What the operator console asks of the Handler: replay a logged delivery
// and send a signed test delivery. Both go through the same decode, map
// and publish code as a delivery from the sender, and both are logged.
//
// They are methods of Console, not of Handler, so that a binary which only
// serves webhooks (the ingest Lambda) does not link them: text/template
// makes the linker keep every exported method of every type that reaches
// an interface, and *Handler does (http.Handler). Nothing in the Lambda
// names Console, so its methods and what only they call (signTest, the
// Sign* helpers) are dropped (docs/lambda.md).

// Console replays and sends test deliveries through a Handler.
type Console struct{ h *Handler }

// NewConsole returns the console side of h.
func NewConsole(h *Handler) *Console { return &Console{h: h} }

// Sources lists the configured source names, sorted.
func (c *Console) Sources() []string { return c.h.Sources() }

// Answer is what the Handler answered, as the console shows it.
type Answer = deliverylog.Answer

// ErrNoSuchSource is returned for a source name that is not configured.
var ErrNoSuchSource = errors.New("no such webhook source")

// Replay maps and publishes a logged delivery again, without verifying
// its signature (the operator asked, and the log only holds deliveries
// this Handler saw). With newID false it reuses the original delivery id,
// so the bus answers with the original events (duplicate); with newID it
// publishes new events under a fresh id. The entry must hold the body:
// the log keeps bodies only when enabled, and redacted fields are
// published as redacted.
func (c *Console) Replay(ctx context.Context, e deliverylog.Entry, newID bool) (Answer, error) {
	h := c.h
	src := h.sources[e.Source]
	if src == nil {
		return Answer{}, fmt.Errorf("replay %q: %w", e.Source, ErrNoSuchSource)
	}
	if len(e.Body) == 0 {
		return Answer{}, fmt.Errorf("replay: the log has no body for this delivery (turn on delivery_log_bodies to keep them)")
	}
	raw := []byte(e.Body)
	if e.Body[0] == '"' && e.BodyNote != "" {
		// A non-JSON body kept as a JSON string (a GitHub form post).
		var s string
		if err := json.Unmarshal(e.Body, &s); err != nil {
			return Answer{}, fmt.Errorf("replay: stored body: %w", err)
		}
		raw = []byte(s)
	}
	id := e.DeliveryID
	fresh := newID || id == ""
	if fresh {
		id = "replay-" + randomHex(8)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/hooks/"+src.name, bytes.NewReader(raw))
	if err != nil {
		return Answer{}, fmt.Errorf("replay: %w", err)
	}
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	start := time.Now()
	rec := newAnswerRecorder()
	o := h.observe(r, src.name, src, deliverylog.ViaReplay)
	o.body(raw)
	o.verified()
	status := h.deliver(rec, r, src, raw, o, id, fresh)
	if o != nil {
		h.finish(o, status, time.Since(start))
	}
	return Answer{Status: status, Body: rec.body.Bytes(), DeliveryID: id}, nil
}

// SendTest signs body as the source's sender would, with the source's
// first secret, and serves it like any delivery (logged with via "test").
// typ sets the event type where the scheme carries it in a header
// (GitHub, Shopify, a configured type_header); a fresh delivery id is sent
// where the scheme has one.
func (c *Console) SendTest(ctx context.Context, source, typ string, body []byte) (Answer, error) {
	h := c.h
	src := h.sources[source]
	if src == nil {
		return Answer{}, fmt.Errorf("test delivery to %q: %w", source, ErrNoSuchSource)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/hooks/"+src.name, bytes.NewReader(body))
	if err != nil {
		return Answer{}, fmt.Errorf("test delivery: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	id := "test-" + randomHex(8)
	signTest(r.Header, src, typ, id, body, h.now())
	rec := newAnswerRecorder()
	h.serveVia(rec, r, deliverylog.ViaTest)
	return Answer{Status: rec.status, Body: rec.body.Bytes(), DeliveryID: id}, nil
}

// signTest sets the headers src's provider verifies.
func signTest(hd http.Header, src *source, typ, id string, body []byte, now time.Time) {
	secret := src.testSecret
	switch p := src.prov.(type) {
	case *stripe:
		hd.Set("Stripe-Signature", SignStripe(secret, now, body))
	case *github:
		hd.Set("X-Hub-Signature-256", SignGitHub(secret, body))
		hd.Set("X-GitHub-Event", typ)
		hd.Set("X-GitHub-Delivery", id)
	case *shopify:
		hd.Set("X-Shopify-Hmac-Sha256", SignShopify(secret, body))
		hd.Set("X-Shopify-Topic", typ)
		hd.Set("X-Shopify-Webhook-Id", id)
	case *standard:
		hd.Set("webhook-id", id)
		hd.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		hd.Set("webhook-signature", SignStandard(secret, id, now, body))
		setTypeHeader(hd, p.typ, typ)
	case *hmacProvider:
		enc := "hex"
		if p.base64 {
			enc = "base64"
		}
		sum := mac(p.hash, []byte(secret), body)
		v := hex.EncodeToString(sum)
		if enc == "base64" {
			v = base64.StdEncoding.EncodeToString(sum)
		}
		hd.Set(p.header, p.prefix+v)
		if p.idHeader != "" {
			hd.Set(p.idHeader, id)
		}
		setTypeHeader(hd, p.typ, typ)
	case *token:
		if p.basic {
			hd.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
		} else {
			hd.Set("Authorization", "Bearer "+secret)
		}
		setTypeHeader(hd, p.generic, typ)
	}
}

func setTypeHeader(hd http.Header, g genericType, typ string) {
	if g.header != "" && typ != "" {
		hd.Set(g.header, typ)
	}
}

// Provider returns the provider scheme of a configured source ("" if none).
func (c *Console) Provider(source string) string {
	if src := c.h.sources[source]; src != nil {
		return providerName(src.prov)
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// answerRecorder is the http.ResponseWriter of in-process deliveries.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newAnswerRecorder() *answerRecorder {
	return &answerRecorder{header: http.Header{}, status: http.StatusOK}
}

func (r *answerRecorder) Header() http.Header         { return r.header }
func (r *answerRecorder) WriteHeader(status int)      { r.status = status }
func (r *answerRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
