package webhook

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
)

// catchAll maps every delivery to one event on topic test:<source>.
var catchAll = []config.WebhookRule{{Events: []config.WebhookEventMapper{{Topic: "test:{{.Source}}", Type: `{{default "test.event" .Type}}`}}}}

type signer func(secret string, at time.Time, body []byte) map[string]string

type providerCase struct {
	name     string
	provider string
	secrets  [2]string // old, new (rotation)
	extra    func(*config.WebhookSource)
	sign     signer
	stale    bool // the scheme signs a timestamp
}

func providerCases() []providerCase {
	return []providerCase{
		{name: "stripe", provider: "stripe", secrets: [2]string{"whsec_old", "whsec_new"}, stale: true,
			sign: func(s string, at time.Time, b []byte) map[string]string {
				return map[string]string{"Stripe-Signature": SignStripe(s, at, b)}
			}},
		{name: "github", provider: "github", secrets: [2]string{"gh-old", "gh-new"},
			sign: func(s string, _ time.Time, b []byte) map[string]string {
				return map[string]string{"X-Hub-Signature-256": SignGitHub(s, b), "X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
			}},
		{name: "shopify", provider: "shopify", secrets: [2]string{"shpss_old", "shpss_new"},
			sign: func(s string, _ time.Time, b []byte) map[string]string {
				return map[string]string{"X-Shopify-Hmac-Sha256": SignShopify(s, b), "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}
			}},
		{name: "standard", provider: "standard", stale: true,
			secrets: [2]string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("old-key-0123456789")), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			sign: func(s string, at time.Time, b []byte) map[string]string {
				return map[string]string{"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "webhook-timestamp": strconv.FormatInt(at.Unix(), 10),
					"webhook-signature": SignStandard(s, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", at, b)}
			}},
		{name: "hmac", provider: "hmac", secrets: [2]string{"h-old", "h-new"},
			extra: func(s *config.WebhookSource) {
				s.HMAC = config.WebhookHMAC{Header: "X-Acme-Signature", Algorithm: "sha1", Encoding: "base64", Prefix: "sha1=", IDHeader: "X-Acme-Delivery"}
			},
			sign: func(s string, _ time.Time, b []byte) map[string]string {
				return map[string]string{"X-Acme-Signature": SignHMAC(s, "sha1", "base64", "sha1=", b), "X-Acme-Delivery": "d-1"}
			}},
		{name: "bearer", provider: "bearer", secrets: [2]string{"tok-old", "tok-new"},
			sign: func(s string, _ time.Time, _ []byte) map[string]string {
				return map[string]string{"Authorization": "Bearer " + s}
			}},
		{name: "basic", provider: "basic", secrets: [2]string{"am:old-pass", "am:new-pass"},
			sign: func(s string, _ time.Time, _ []byte) map[string]string {
				return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(s))}
			}},
	}
}

func (c providerCase) source(secrets ...string) config.WebhookSource {
	src := config.WebhookSource{Name: c.name, Provider: c.provider, Secrets: secrets, Rules: catchAll}
	if c.extra != nil {
		c.extra(&src)
	}
	return src
}

func TestProviders(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"thing.happened","n":1}`)
	for _, c := range providerCases() {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.source(c.secrets[0], c.secrets[1]))
			// Each secret of the rotation pair verifies.
			for _, s := range c.secrets {
				if a := f.post(t, c.name, body, c.sign(s, testNow, body)); a.Status != http.StatusOK {
					t.Errorf("secret %q: status %d %s", s, a.Status, a.Raw)
				}
			}
			// Signed with a secret that is not configured.
			wrong := c.secrets[0] + "x"
			if c.provider == "standard" {
				wrong = "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-key"))
			}
			expect401(t, f, c.name, body, c.sign(wrong, testNow, body))
			// Missing credentials.
			expect401(t, f, c.name, body, nil)
			// The body changed after signing (the token schemes don't sign it).
			if c.provider != "bearer" && c.provider != "basic" {
				expect401(t, f, c.name, []byte(`{"id":"evt_1","type":"thing.happened","n":2}`), c.sign(c.secrets[1], testNow, body))
			}
			if c.stale {
				expect401(t, f, c.name, body, c.sign(c.secrets[1], testNow.Add(-DefaultTolerance-time.Second), body))
				expect401(t, f, c.name, body, c.sign(c.secrets[1], testNow.Add(DefaultTolerance+time.Second), body))
				if a := f.post(t, c.name, body, c.sign(c.secrets[1], testNow.Add(-DefaultTolerance+time.Second), body)); a.Status != http.StatusOK {
					t.Errorf("inside tolerance: status %d", a.Status)
				}
			}
		})
	}
}

func expect401(t *testing.T, f *fixture, source string, body []byte, hdr map[string]string) {
	t.Helper()
	a := f.post(t, source, body, hdr)
	if a.Status != http.StatusUnauthorized || a.Error.Code != "unauthorized" || a.Error.Message != "invalid signature" {
		t.Errorf("want 401 unauthorized/invalid signature, got %d %s", a.Status, a.Raw)
	}
}

func TestStripeSeveralSignaturesAndTolerance(t *testing.T) {
	src := config.WebhookSource{Name: "pay", Provider: "stripe", Secrets: []string{"whsec_a"}, Tolerance: time.Hour, Rules: catchAll}
	f := newFixture(t, src)
	body := []byte(`{"id":"evt_2","type":"payment_intent.created"}`)
	at := testNow.Add(-30 * time.Minute) // inside the configured hour
	good := SignStripe("whsec_a", at, body)
	other := SignStripe("whsec_b", at, body)
	// Stripe sends one v1 per active secret while one is being rolled.
	hdr := other + ",v1=" + good[len("t=1763890200,v1="):] + ",v0=deadbeef"
	if a := f.post(t, "pay", body, map[string]string{"Stripe-Signature": hdr}); a.Status != http.StatusOK {
		t.Fatalf("several v1: %d %s (%s)", a.Status, a.Raw, hdr)
	}
	for _, bad := range []string{"t=abc,v1=00", "v1=" + good[len("t=1763890200,v1="):], "t=1763890200", "garbage", ""} {
		expect401(t, f, "pay", body, map[string]string{"Stripe-Signature": bad})
	}
}

func TestStandardSkipsOtherVersions(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	src := config.WebhookSource{Name: "std", Provider: "standard", Secrets: []string{secret}, Rules: catchAll}
	f := newFixture(t, src)
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)
	sig := SignStandard(secret, "msg_1", testNow, body)
	hdr := map[string]string{"webhook-id": "msg_1", "webhook-timestamp": strconv.FormatInt(testNow.Unix(), 10),
		"webhook-signature": "v1a,bm90IGFuIGVkMjU1MTkgc2lnbmF0dXJl v1,bm9wZQ== " + sig}
	a := f.post(t, "std", body, hdr)
	if a.Status != http.StatusOK {
		t.Fatalf("status %d %s", a.Status, a.Raw)
	}
	if ev := f.history(t, "test:std"); len(ev) != 1 || ev[0]["type"] != "invoice.paid" {
		t.Fatalf("event: %v", ev)
	}
	// The id is signed: another id with the same signature fails.
	hdr["webhook-id"] = "msg_2"
	expect401(t, f, "std", body, hdr)
}

// Svix-based senders name the same headers svix-*.
func TestStandardSvixHeaders(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	f := newFixture(t, config.WebhookSource{Name: "clerk", Provider: "standard", Secrets: []string{secret}, Rules: catchAll})
	body := []byte(`{"type":"user.created","data":{"id":"user_1"}}`)
	hdr := map[string]string{"svix-id": "msg_svix", "svix-timestamp": strconv.FormatInt(testNow.Unix(), 10),
		"svix-signature": SignStandard(secret, "msg_svix", testNow, body)}
	if a := f.post(t, "clerk", body, hdr); a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	hdr["svix-signature"] = SignStandard(secret, "msg_other", testNow, body)
	expect401(t, f, "clerk", body, hdr)
}
