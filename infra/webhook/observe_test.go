package webhook

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// entries is an Observer that keeps what it is told.
type entries struct{ got []deliverylog.Entry }

func (e *entries) Observe(x deliverylog.Entry) { e.got = append(e.got, x) }

func (e *entries) last(t *testing.T) deliverylog.Entry {
	t.Helper()
	if len(e.got) == 0 {
		t.Fatal("nothing observed")
	}
	return e.got[len(e.got)-1]
}

func observedFixture(t *testing.T, sources ...config.WebhookSource) (*fixture, *entries) {
	t.Helper()
	b := memory.New(bus.Options{})
	t.Cleanup(func() { b.Close() })
	obs := &entries{}
	h, err := New(context.Background(), sources, b, Options{
		Now:      func() time.Time { return testNow },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observer: obs,
		Via:      deliverylog.ViaRelay,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{h: h, bus: b}, obs
}

// TestObserverRefusalReasons: every provider's refusal is logged with the
// precise reason and the header at fault, while the sender still gets a
// bare 401.
func TestObserverRefusalReasons(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"thing.happened"}`)
	for _, c := range providerCases() {
		t.Run(c.name, func(t *testing.T) {
			f, obs := observedFixture(t, c.source(c.secrets[1]))
			good := c.sign(c.secrets[1], testNow, body)
			header := map[string]string{"stripe": "Stripe-Signature", "github": "X-Hub-Signature-256", "shopify": "X-Shopify-Hmac-Sha256",
				"standard": "webhook-signature", "hmac": "X-Acme-Signature", "bearer": "Authorization", "basic": "Authorization"}[c.name]
			cases := []struct {
				name   string
				hdr    map[string]string
				reason string
			}{
				{"wrong secret", c.sign(c.secrets[0], testNow, body), deliverylog.ReasonBadSignature},
				{"missing header", without(good, header), deliverylog.ReasonMissingHeader},
				{"malformed header", with(good, header, "%%%"), deliverylog.ReasonMalformedHeader},
			}
			if c.stale {
				cases = append(cases, struct {
					name   string
					hdr    map[string]string
					reason string
				}{"stale", c.sign(c.secrets[1], testNow.Add(-time.Hour), body), deliverylog.ReasonTimestampSkew})
			}
			for _, tc := range cases {
				a := f.post(t, c.name, body, tc.hdr)
				if a.Status != 401 {
					t.Fatalf("%s: status %d, want 401", tc.name, a.Status)
				}
				e := obs.last(t)
				want := tc.reason
				if want == deliverylog.ReasonBadSignature && (c.name == "bearer" || c.name == "basic") {
					want = deliverylog.ReasonBadCredentials
				}
				if e.Reason != want || e.Verification != deliverylog.VerificationRefused || e.Outcome != deliverylog.Refused || e.Detail == "" {
					t.Errorf("%s: logged %s/%s/%s %q, want reason %s", tc.name, e.Verification, e.Outcome, e.Reason, e.Detail, want)
				}
				if !strings.EqualFold(e.Header, header) && !(c.name == "standard" && tc.name == "stale") {
					t.Errorf("%s: header at fault %q, want %q", tc.name, e.Header, header)
				}
				if e.Provider != c.provider || e.Source != c.name || e.Status != 401 {
					t.Errorf("%s: entry %+v", tc.name, e)
				}
				claimed := tc.hdr["X-GitHub-Delivery"] + tc.hdr["X-Shopify-Webhook-Id"] + tc.hdr["webhook-id"] + tc.hdr["X-Acme-Delivery"]
				if claimed != "" && e.DeliveryID != claimed {
					t.Errorf("%s: refused delivery logged with id %q, want the claimed %q", tc.name, e.DeliveryID, claimed)
				}
			}
			a := f.post(t, c.name, body, good)
			if a.Status != 200 {
				t.Fatalf("good delivery: %d %s", a.Status, a.Raw)
			}
			e := obs.last(t)
			if e.Outcome != deliverylog.Published || e.Verification != deliverylog.VerificationOK || len(e.Events) != 1 || e.Events[0].Topic != "test:"+c.name || e.DeliveryID == "" {
				t.Fatalf("good delivery logged as %+v", e)
			}
		})
	}
}

func without(m map[string]string, k string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		if a != k {
			out[a] = b
		}
	}
	return out
}

func with(m map[string]string, k, v string) map[string]string {
	out := without(m, k)
	out[k] = v
	return out
}

// TestObserverOutcomes covers the answers other than a refused signature.
func TestObserverOutcomes(t *testing.T) {
	src := config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"s"}, Preset: "shopify", MaxBodyBytes: 1 << 10}
	f, obs := observedFixture(t, src)
	order := []byte(`{"id":1042,"name":"#1042","total_price":"10.00","currency":"USD"}`)
	hdr := map[string]string{"X-Shopify-Hmac-Sha256": SignShopify("s", order), "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "w-1"}

	f.post(t, "shop", order, hdr)
	if e := obs.last(t); e.Outcome != deliverylog.Published || e.DeliveryID != "w-1" || e.Type != "orders/paid" || e.Duplicate {
		t.Fatalf("first delivery: %+v", e)
	}
	f.post(t, "shop", order, hdr)
	if e := obs.last(t); e.Outcome != deliverylog.Duplicate || !e.Duplicate || !e.Events[0].Duplicate {
		t.Fatalf("redelivery: %+v", e)
	}
	f.post(t, "nope", order, hdr)
	if e := obs.last(t); e.Source != deliverylog.UnknownSourceLog || e.Requested != "nope" || e.Reason != deliverylog.ReasonUnknownSource {
		t.Fatalf("unknown source: %+v", e)
	}
	big := []byte(`{"x":"` + strings.Repeat("a", 2000) + `"}`)
	f.post(t, "shop", big, nil)
	if e := obs.last(t); e.Reason != deliverylog.ReasonBodyTooLarge || e.Status != 413 || e.Verification != deliverylog.VerificationNotReached {
		t.Fatalf("too large: %+v", e)
	}
	ign := []byte(`{"id":1}`)
	f.post(t, "shop", ign, map[string]string{"X-Shopify-Hmac-Sha256": SignShopify("s", ign), "X-Shopify-Topic": "shop/update"})
	if e := obs.last(t); e.Outcome != deliverylog.Ignored || e.Reason != deliverylog.ReasonNoRuleMatched {
		t.Fatalf("ignored: %+v", e)
	}
	bad := []byte(`{"id":`)
	f.post(t, "shop", bad, map[string]string{"X-Shopify-Hmac-Sha256": SignShopify("s", bad), "X-Shopify-Topic": "orders/paid"})
	if e := obs.last(t); e.Reason != deliverylog.ReasonMalformedBody || e.Verification != deliverylog.VerificationOK {
		t.Fatalf("malformed: %+v", e)
	}
	if e := obs.got[0]; len(e.Raw()) == 0 {
		t.Fatalf("the observer did not get the raw body")
	}
}

// TestReplay: replaying a logged delivery with its own id answers with
// the original events (duplicate); with a new id it publishes new ones.
func TestReplay(t *testing.T) {
	src := config.WebhookSource{Name: "shop", Provider: "shopify", Secrets: []string{"s"}, Preset: "shopify"}
	f, obs := observedFixture(t, src)
	order := []byte(`{"id":1042,"name":"#1042"}`)
	f.post(t, "shop", order, map[string]string{"X-Shopify-Hmac-Sha256": SignShopify("s", order), "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "w-9"})
	orig := obs.last(t)
	stored := orig
	stored.Body = order
	stored.Headers = map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "orders/paid"}

	ans, err := NewConsole(f.h).Replay(context.Background(), stored, false)
	if err != nil || ans.Status != 200 || ans.DeliveryID != "w-9" {
		t.Fatalf("replay: %+v %v", ans, err)
	}
	e := obs.last(t)
	if e.Via != deliverylog.ViaReplay || e.Outcome != deliverylog.Duplicate || e.Events[0].ID != orig.Events[0].ID {
		t.Fatalf("replay with the original id logged %+v, want a duplicate of %s", e, orig.Events[0].ID)
	}
	ans, err = NewConsole(f.h).Replay(context.Background(), stored, true)
	if err != nil || ans.Status != 200 || ans.DeliveryID == "w-9" {
		t.Fatalf("replay with a new id: %+v %v", ans, err)
	}
	if e := obs.last(t); e.Outcome != deliverylog.Published || e.Events[0].ID == orig.Events[0].ID {
		t.Fatalf("replay with a new id logged %+v", e)
	}
	if got := len(f.history(t, "order:1042")); got != 2 {
		t.Fatalf("order:1042 has %d events, want 2 (original + new-id replay)", got)
	}
	stored.Body = nil
	if _, err := NewConsole(f.h).Replay(context.Background(), stored, false); err == nil {
		t.Fatal("replay without a body succeeded")
	}
	stored.Source = "gone"
	stored.Body = order
	if _, err := NewConsole(f.h).Replay(context.Background(), stored, false); err == nil {
		t.Fatal("replay to an unknown source succeeded")
	}
}

// TestSendTest: a test delivery is signed so that the source's own
// verifier accepts it, for every scheme.
func TestSendTest(t *testing.T) {
	for _, c := range providerCases() {
		t.Run(c.name, func(t *testing.T) {
			f, obs := observedFixture(t, c.source(c.secrets[1], c.secrets[0]))
			ans, err := NewConsole(f.h).SendTest(context.Background(), c.name, "thing.happened", []byte(`{"type":"thing.happened","n":`+strconv.Itoa(1)+`}`))
			if err != nil || ans.Status != 200 {
				t.Fatalf("SendTest: %+v %v (%s)", ans, err, ans.Body)
			}
			if e := obs.last(t); e.Via != deliverylog.ViaTest || e.Outcome != deliverylog.Published {
				t.Fatalf("logged %+v", e)
			}
		})
	}
	f, _ := observedFixture(t, providerCases()[0].source("whsec_x"))
	if _, err := NewConsole(f.h).SendTest(context.Background(), "nope", "", []byte(`{}`)); err == nil {
		t.Fatal("SendTest to an unknown source succeeded")
	}
}
