package webhook

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
)

// Seed corpora live in testdata/fuzz/<target>/; f.Add adds a few more.

func FuzzStripeSignatureHeader(f *testing.F) {
	f.Add(SignStripe("whsec_x", time.Unix(1700000000, 0), []byte("{}")))
	f.Add("t=1,v1=zz,v0=00,,=,t=")
	f.Fuzz(func(t *testing.T, h string) {
		sh, ok := parseStripeHeader(h)
		if !ok {
			return
		}
		if len(sh.v1) == 0 || len(sh.v1) > maxSignatures {
			t.Fatalf("accepted %q with %d v1 signatures", h, len(sh.v1))
		}
		for _, s := range sh.v1 {
			if len(s) != 32 {
				t.Fatalf("v1 of %d bytes from %q", len(s), h)
			}
		}
		// Whatever parses never verifies without the secret.
		p := &stripe{keys: [][]byte{[]byte("whsec_fuzz-secret-not-in-corpus")}, tolerance: DefaultTolerance}
		if p.verify(http.Header{"Stripe-Signature": {h}}, []byte("{}"), time.Unix(sh.t, 0)) {
			t.Fatalf("verified %q", h)
		}
	})
}

func FuzzStandardSignatureHeader(f *testing.F) {
	f.Add(SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", time.Unix(1614265330, 0), []byte("{}")))
	f.Add("v1a,abc v1,bm9wZQ== v2,x  v1,")
	f.Fuzz(func(t *testing.T, h string) {
		if n := len(parseStandardSignatures(h)); n > maxSignatures {
			t.Fatalf("%d signatures from %q", n, h)
		}
		for _, s := range parseStandardSignatures(h) {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes from %q", len(s), h)
			}
		}
	})
}

// FuzzHandler posts arbitrary bodies and headers to one source of every
// provider: the handler never panics, always answers JSON, and never
// answers 2xx without a valid signature (the secrets are not guessable).
func FuzzHandler(f *testing.F) {
	secret := "fuzz-" + hex.EncodeToString([]byte("a secret the fuzzer cannot know"))
	sources := []config.WebhookSource{
		{Name: "stripe", Provider: "stripe", Secrets: []string{secret}, Preset: "stripe"},
		{Name: "github", Provider: "github", Secrets: []string{secret}, Preset: "github"},
		{Name: "shopify", Provider: "shopify", Secrets: []string{secret}, Preset: "shopify"},
		{Name: "standard", Provider: "standard", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Rules: catchAll},
		{Name: "hmac", Provider: "hmac", Secrets: []string{secret}, Rules: catchAll},
		{Name: "bearer", Provider: "bearer", Secrets: []string{secret}, Preset: "alertmanager"},
		{Name: "basic", Provider: "basic", Secrets: []string{"u:" + secret}, Preset: "grafana"},
	}
	fx := newFixture(f, sources...)
	names := []string{"stripe", "github", "shopify", "standard", "hmac", "bearer", "basic", "nope", "", "../x"}
	f.Add(uint8(0), []byte(`{"id":"evt_1","type":"charge.succeeded"}`), "Stripe-Signature", "t=1,v1=00", "application/json")
	f.Add(uint8(1), []byte(`{"repository":{"full_name":"a/b"}}`), "X-Hub-Signature-256", "sha256=00", "application/x-www-form-urlencoded")
	f.Add(uint8(3), []byte(`[[[[`), "webhook-signature", "v1,AAAA", "")
	f.Add(uint8(5), []byte(`{"alerts":[{}]}`), "Authorization", "Bearer x", "application/json")
	f.Add(uint8(6), []byte(`{}`), "Authorization", "Basic dTp4", "text/plain")
	f.Fuzz(func(t *testing.T, which uint8, body []byte, hname, hvalue, ctype string) {
		name := names[int(which)%len(names)]
		r := httptest.NewRequest(http.MethodPost, "/hooks/x", bytes.NewReader(body))
		r.URL.Path = "/hooks/" + name
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if hname != "" && validHeader(hname) {
			r.Header.Set(hname, hvalue)
		}
		r.Header.Set("webhook-id", "msg_1")
		r.Header.Set("webhook-timestamp", "1795426200")
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)
		if w.Code < 300 {
			t.Fatalf("%s answered %d without a valid signature: %s", name, w.Code, w.Body)
		}
		if w.Header().Get("Content-Type") != "application/json" || !bytes.HasPrefix(w.Body.Bytes(), []byte(`{"error":`)) {
			t.Fatalf("answer %d is not a JSON error: %q", w.Code, w.Body)
		}
	})
}

func validHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}
