package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
)

// DefaultTolerance bounds the age and the clock skew of a signed timestamp
// (Stripe's and the Standard Webhooks libraries' default).
const DefaultTolerance = 5 * time.Minute

// provider verifies one signature scheme and reads the event type and the
// delivery id the sender puts on a delivery.
type provider interface {
	// verify reports whether the request is authentic: signed (or
	// authorised) with one of the source's secrets, on the exact raw body.
	verify(h http.Header, body []byte, now time.Time) bool
	// identify returns the event type and the sender's delivery id ("" when
	// the scheme has none; the caller then uses the body's SHA-256).
	identify(h http.Header, body any) (typ, id string)
	// signsID reports whether the signature covers the delivery id. When it
	// does not, anyone holding one captured delivery could replay it under
	// fresh ids, so the caller deduplicates on the signed body instead.
	signsID() bool
}

// newProvider builds the provider of src with its resolved secrets.
func newProvider(src config.WebhookSource, secrets []string) (provider, error) {
	tol := src.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	generic := genericType{header: src.TypeHeader, field: src.TypeField}
	switch src.Provider {
	case "stripe":
		return &stripe{keys: keys, tolerance: tol}, nil
	case "github":
		return &github{keys: keys}, nil
	case "shopify":
		return &shopify{keys: keys}, nil
	case "standard":
		for i, s := range secrets {
			k, err := standardKey(s)
			if err != nil || len(k) == 0 {
				return nil, fmt.Errorf("secrets[%d]: want whsec_<base64>", i)
			}
			keys[i] = k
		}
		return &standard{keys: keys, tolerance: tol, typ: generic}, nil
	case "hmac":
		return newHMAC(src.HMAC, keys, generic)
	case "bearer":
		return &token{sums: sums(secrets), generic: generic}, nil
	case "basic":
		for i, s := range secrets {
			if !strings.Contains(s, ":") {
				return nil, fmt.Errorf("secrets[%d]: want user:password", i)
			}
		}
		return &token{basic: true, sums: sums(secrets), generic: generic}, nil
	}
	return nil, fmt.Errorf("provider: %q is not one of stripe, github, shopify, standard, hmac, bearer, basic", src.Provider)
}

// anyMAC compares got with every expected MAC in constant time (per
// candidate) and reports whether one matches.
func anyMAC(got []byte, want func(key []byte) []byte, keys [][]byte) bool {
	return anySignature([][]byte{got}, macs(want, keys))
}

// maxSignatures caps the signatures one header may present. Senders put one
// per active secret (Stripe and Svix send 1-3 while rotating); a header
// with more is refused before any MAC is computed.
const maxSignatures = 8

// macs computes the expected MAC of every key once per request, so the
// cost of a delivery is one MAC over the body per secret however many
// signatures the header presents (M4 of the 2026-12 review: recomputing
// it per presented signature made a 1 MiB body cost 33x).
func macs(want func(key []byte) []byte, keys [][]byte) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = want(k)
	}
	return out
}

// anySignature compares every presented signature with every expected MAC
// in constant time (per pair) and reports whether one matches.
func anySignature(got, want [][]byte) bool {
	ok := false
	for _, g := range got {
		for _, w := range want {
			if hmac.Equal(g, w) {
				ok = true
			}
		}
	}
	return ok
}

// withinTolerance reports whether the signed unix timestamp ts is at most
// tol away from now, in either direction (a far-future timestamp would
// otherwise make a captured delivery replayable for long).
func withinTolerance(ts int64, now time.Time, tol time.Duration) bool {
	d := now.Sub(time.Unix(ts, 0))
	return d <= tol && d >= -tol
}

// Stripe: Stripe-Signature "t=<unix>,v1=<hex>[,v1=<hex>][,v0=…]", HMAC-SHA256
// of "<t>.<body>" with the endpoint secret; type and id from the event JSON.
type stripe struct {
	keys      [][]byte
	tolerance time.Duration
}

func (p *stripe) verify(h http.Header, body []byte, now time.Time) bool {
	sh, ok := parseStripeHeader(h.Get("Stripe-Signature"))
	if !ok || !withinTolerance(sh.t, now, p.tolerance) {
		return false
	}
	ts := strconv.FormatInt(sh.t, 10)
	return anySignature(sh.v1, macs(func(k []byte) []byte { return stripeMAC(k, ts, body) }, p.keys))
}

// signsID: the id is the signed body's "id".
func (p *stripe) signsID() bool { return true }

func (p *stripe) identify(_ http.Header, body any) (string, string) {
	return lookupString(body, "type"), lookupString(body, "id")
}

type stripeHeader struct {
	t  int64
	v1 [][]byte
}

// parseStripeHeader reads "t=…,v1=…" pairs. Unknown schemes (v0) and
// undecodable v1 values are ignored, as Stripe's libraries do; a header
// without t, without a v1 or with more than maxSignatures is invalid.
func parseStripeHeader(s string) (stripeHeader, bool) {
	var sh stripeHeader
	hasT := false
	if len(s) > 4096 {
		return sh, false
	}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return sh, false
			}
			sh.t, hasT = t, true
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sh.v1 = append(sh.v1, sig)
			}
		}
	}
	return sh, hasT && len(sh.v1) > 0 && len(sh.v1) <= maxSignatures
}

// GitHub: X-Hub-Signature-256 "sha256=<hex>" of the raw body; type from
// X-GitHub-Event, id from X-GitHub-Delivery (kept on redelivery).
type github struct{ keys [][]byte }

func (p *github) verify(h http.Header, body []byte, _ time.Time) bool {
	v, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(v)
	if err != nil {
		return false
	}
	return anyMAC(sig, func(k []byte) []byte { return mac(sha256.New, k, body) }, p.keys)
}

// signsID: X-GitHub-Delivery is a header outside the signature.
func (p *github) signsID() bool { return false }

func (p *github) identify(h http.Header, _ any) (string, string) {
	return h.Get("X-GitHub-Event"), h.Get("X-GitHub-Delivery")
}

// Shopify: X-Shopify-Hmac-Sha256 base64 HMAC-SHA256 of the raw body; type
// from X-Shopify-Topic, id from X-Shopify-Webhook-Id (X-Shopify-Event-Id as
// a fallback).
type shopify struct{ keys [][]byte }

func (p *shopify) verify(h http.Header, body []byte, _ time.Time) bool {
	sig, err := base64.StdEncoding.DecodeString(h.Get("X-Shopify-Hmac-Sha256"))
	if err != nil || len(sig) == 0 {
		return false
	}
	return anyMAC(sig, func(k []byte) []byte { return mac(sha256.New, k, body) }, p.keys)
}

// signsID: X-Shopify-Webhook-Id is a header outside the signature.
func (p *shopify) signsID() bool { return false }

func (p *shopify) identify(h http.Header, _ any) (string, string) {
	id := h.Get("X-Shopify-Webhook-Id")
	if id == "" {
		id = h.Get("X-Shopify-Event-Id")
	}
	return h.Get("X-Shopify-Topic"), id
}

// Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature
// "v1,<base64> v1,<base64>", HMAC-SHA256 over "<id>.<timestamp>.<body>"
// keyed with the decoded whsec_ secret; the type is the payload's "type".
type standard struct {
	keys      [][]byte
	tolerance time.Duration
	typ       genericType
}

// standardHeader reads webhook-<name>, or svix-<name> as sent by Svix-based
// senders (Clerk, Resend, ...) whose scheme is the same.
func standardHeader(h http.Header, name string) string {
	if v := h.Get("webhook-" + name); v != "" {
		return v
	}
	return h.Get("svix-" + name)
}

func (p *standard) verify(h http.Header, body []byte, now time.Time) bool {
	id, tsText := standardHeader(h, "id"), standardHeader(h, "timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil || !withinTolerance(ts, now, p.tolerance) {
		return false
	}
	sigs := parseStandardSignatures(standardHeader(h, "signature"))
	if len(sigs) == 0 {
		return false
	}
	return anySignature(sigs, macs(func(k []byte) []byte { return standardMAC(k, id, tsText, body) }, p.keys))
}

// signsID: webhook-id is part of the signed content.
func (p *standard) signsID() bool { return true }

func (p *standard) identify(h http.Header, body any) (string, string) {
	return p.typ.of(h, body), standardHeader(h, "id")
}

// parseStandardSignatures returns the decoded v1 signatures of a
// webhook-signature header; other versions (v1a asymmetric) are skipped.
// A header with more than maxSignatures v1 signatures gives none.
func parseStandardSignatures(s string) [][]byte {
	if len(s) > 4096 {
		return nil
	}
	var sigs [][]byte
	for _, part := range strings.Fields(s) {
		v, ok := strings.CutPrefix(part, "v1,")
		if !ok {
			continue
		}
		if sig, err := base64.StdEncoding.DecodeString(v); err == nil && len(sig) == sha256.Size {
			if len(sigs) == maxSignatures {
				return nil
			}
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

// genericType reads the event type from a header or a JSON field.
type genericType struct{ header, field string }

func (g genericType) of(h http.Header, body any) string {
	if g.header != "" {
		return h.Get(g.header)
	}
	field := g.field
	if field == "" {
		field = "type"
	}
	return lookupString(body, field)
}

// token authorises Authorization: Bearer <secret> or Basic user:password.
// Values are compared as SHA-256 sums so neither content nor length leaks
// through timing.
type token struct {
	basic   bool
	sums    [][sha256.Size]byte
	generic genericType
}

func sums(secrets []string) [][sha256.Size]byte {
	out := make([][sha256.Size]byte, len(secrets))
	for i, s := range secrets {
		out[i] = sha256.Sum256([]byte(s))
	}
	return out
}

func (p *token) verify(h http.Header, _ []byte, _ time.Time) bool {
	auth := h.Get("Authorization")
	var cred string
	if p.basic {
		r := http.Request{Header: http.Header{"Authorization": {auth}}}
		user, pass, ok := r.BasicAuth()
		if !ok {
			return false
		}
		cred = user + ":" + pass
	} else {
		scheme, v, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		cred = strings.TrimSpace(v)
	}
	got := sha256.Sum256([]byte(cred))
	match := 0
	for _, s := range p.sums {
		match |= subtle.ConstantTimeCompare(got[:], s[:])
	}
	return match == 1 && cred != ""
}

// signsID: a bearer or basic credential signs nothing.
func (p *token) signsID() bool { return false }

func (p *token) identify(h http.Header, body any) (string, string) {
	return p.generic.of(h, body), ""
}
