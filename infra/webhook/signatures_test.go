package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// randomSigs returns n random 32-byte signatures, encoded by enc.
func randomSigs(n int, enc func([]byte) string) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		out[i] = enc(b)
	}
	return out
}

const standardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// stripeWithExtra returns a Stripe-Signature header with the valid signature
// of body followed by extra random ones.
func stripeWithExtra(now time.Time, body []byte, extra int) string {
	h := SignStripe("whsec_stripe", now, body)
	for _, s := range randomSigs(extra, hex.EncodeToString) {
		h += ",v1=" + s
	}
	return h
}

func standardWithExtra(now time.Time, body []byte, extra int) string {
	h := SignStandard(standardSecret, "msg_1", now, body)
	for _, s := range randomSigs(extra, base64.StdEncoding.EncodeToString) {
		h += " v1," + s
	}
	return h
}

func stripeAndStandard(t *testing.T) (*stripe, *standard) {
	t.Helper()
	k, err := standardKey(standardSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &stripe{keys: [][]byte{[]byte("whsec_stripe")}, tolerance: DefaultTolerance},
		&standard{keys: [][]byte{k}, tolerance: DefaultTolerance}
}

// M4 (security review 2026-12): a header may present at most maxSignatures
// signatures; past that it is refused even when one of them is valid, so
// the number of comparisons per delivery is bounded.
func TestSignatureCap(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"a":1}`)
	st, sw := stripeAndStandard(t)
	stdHdr := func(sig string) http.Header {
		return http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1800000000"}, "Webhook-Signature": {sig}}
	}
	if !st.verify(http.Header{"Stripe-Signature": {stripeWithExtra(now, body, maxSignatures-1)}}, body, now) {
		t.Error("stripe: a valid signature among maxSignatures was refused")
	}
	if st.verify(http.Header{"Stripe-Signature": {stripeWithExtra(now, body, maxSignatures)}}, body, now) {
		t.Error("stripe: more than maxSignatures signatures were accepted")
	}
	if !sw.verify(stdHdr(standardWithExtra(now, body, maxSignatures-1)), body, now) {
		t.Error("standard: a valid signature among maxSignatures was refused")
	}
	if sw.verify(stdHdr(standardWithExtra(now, body, maxSignatures)), body, now) {
		t.Error("standard: more than maxSignatures signatures were accepted")
	}
}

// M4: the body's MAC is computed once per secret, not once per presented
// signature. Allocation counts are exact, so the test compares them: each
// extra signature may cost its decoding, never another MAC.
func TestMACOncePerSecret(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(strings.Repeat("x", 1024))
	st, sw := stripeAndStandard(t)
	perMAC := testing.AllocsPerRun(20, func() { stripeMAC([]byte("whsec_stripe"), "1800000000", body) })
	if perMAC < 2 {
		t.Fatalf("one MAC allocates %.0f times: too few for the comparison to mean anything", perMAC)
	}
	allocs := func(verify func(http.Header) bool, h http.Header) float64 {
		return testing.AllocsPerRun(20, func() { verify(h) })
	}
	const extra = maxSignatures - 1
	for _, tc := range []struct {
		name      string
		one, many http.Header
		verify    func(http.Header) bool
	}{
		{"stripe",
			http.Header{"Stripe-Signature": {stripeWithExtra(now, body, 0)}},
			http.Header{"Stripe-Signature": {stripeWithExtra(now, body, extra)}},
			func(h http.Header) bool { return st.verify(h, body, now) }},
		{"standard",
			http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1800000000"}, "Webhook-Signature": {standardWithExtra(now, body, 0)}},
			http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1800000000"}, "Webhook-Signature": {standardWithExtra(now, body, extra)}},
			func(h http.Header) bool { return sw.verify(h, body, now) }},
	} {
		one, many := allocs(tc.verify, tc.one), allocs(tc.verify, tc.many)
		if many-one >= extra*perMAC {
			t.Errorf("%s: %d extra signatures cost %.0f allocations (one MAC is %.0f): the MAC is recomputed per signature", tc.name, extra, many-one, perMAC)
		}
	}
}
