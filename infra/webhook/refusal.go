package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// refusal says why a provider refused a request, for the delivery log: the
// reason, the same in plain words, and the header at fault. It runs only
// after verify said no (never for a good delivery) and only re-reads
// headers: no MAC is computed again, so a refusal costs no more to explain
// than to make. The answer to the sender stays a bare 401 either way.
type refusal struct {
	reason, detail, header string
}

func explainRefusal(p provider, h http.Header, now time.Time) refusal {
	switch p := p.(type) {
	case *stripe:
		return p.explain(h, now)
	case *github:
		return explainMAC(h, "X-Hub-Signature-256", len(p.keys), func(v string) bool {
			rest, ok := strings.CutPrefix(v, "sha256=")
			_, err := hex.DecodeString(rest)
			return ok && err == nil
		}, "sha256=<hex HMAC-SHA256 of the body>")
	case *shopify:
		return explainMAC(h, "X-Shopify-Hmac-Sha256", len(p.keys), func(v string) bool {
			b, err := base64.StdEncoding.DecodeString(v)
			return err == nil && len(b) > 0
		}, "<base64 HMAC-SHA256 of the body>")
	case *standard:
		return p.explain(h, now)
	case *hmacProvider:
		return p.explain(h)
	case *token:
		return p.explain(h)
	}
	return refusal{deliverylog.ReasonBadSignature, "the signature did not verify", ""}
}

// explainMAC covers schemes with one header holding a MAC of the body.
func explainMAC(h http.Header, name string, keys int, wellFormed func(string) bool, form string) refusal {
	v := h.Get(name)
	switch {
	case v == "":
		return refusal{deliverylog.ReasonMissingHeader, "header " + name + " is missing: the sender did not sign the request (or a proxy removed the header)", name}
	case !wellFormed(v):
		return refusal{deliverylog.ReasonMalformedHeader, "header " + name + " is not " + form, name}
	}
	return badMAC(name, keys)
}

func badMAC(header string, keys int) refusal {
	return refusal{deliverylog.ReasonBadSignature, fmt.Sprintf(
		"the signature in %s matches none of the source's %d secret(s): the sender signs with another secret, or the body changed on the way", header, keys), header}
}

func skew(header string, ts int64, now time.Time, tol time.Duration) refusal {
	age := now.Sub(time.Unix(ts, 0)).Round(time.Second)
	when := age.String() + " old"
	if age < 0 {
		when = (-age).String() + " in the future"
	}
	return refusal{deliverylog.ReasonTimestampSkew, fmt.Sprintf(
		"the signed timestamp in %s is %s; the source accepts %s either way (a replayed delivery, or a clock off)", header, when, tol), header}
}

func (p *stripe) explain(h http.Header, now time.Time) refusal {
	const name = "Stripe-Signature"
	v := h.Get(name)
	if v == "" {
		return refusal{deliverylog.ReasonMissingHeader, "header Stripe-Signature is missing", name}
	}
	sh, ok := parseStripeHeader(v)
	if !ok {
		return refusal{deliverylog.ReasonMalformedHeader, "header Stripe-Signature is not t=<unix time>,v1=<hex signature>", name}
	}
	if !withinTolerance(sh.t, now, p.tolerance) {
		return skew(name, sh.t, now, p.tolerance)
	}
	return badMAC(name, len(p.keys))
}

func (p *standard) explain(h http.Header, now time.Time) refusal {
	if standardHeader(h, "id") == "" {
		return refusal{deliverylog.ReasonMissingHeader, "header webhook-id (or svix-id) is missing", "webhook-id"}
	}
	tsText := standardHeader(h, "timestamp")
	if tsText == "" {
		return refusal{deliverylog.ReasonMissingHeader, "header webhook-timestamp (or svix-timestamp) is missing", "webhook-timestamp"}
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return refusal{deliverylog.ReasonMalformedHeader, "header webhook-timestamp is not a unix time in seconds", "webhook-timestamp"}
	}
	if !withinTolerance(ts, now, p.tolerance) {
		return skew("webhook-timestamp", ts, now, p.tolerance)
	}
	sig := standardHeader(h, "signature")
	if sig == "" {
		return refusal{deliverylog.ReasonMissingHeader, "header webhook-signature (or svix-signature) is missing", "webhook-signature"}
	}
	if len(parseStandardSignatures(sig)) == 0 {
		return refusal{deliverylog.ReasonMalformedHeader, "header webhook-signature holds no v1,<base64 signature>", "webhook-signature"}
	}
	return badMAC("webhook-signature", len(p.keys))
}

func (p *hmacProvider) explain(h http.Header) refusal {
	return explainMAC(h, p.header, len(p.keys), func(v string) bool {
		rest, ok := strings.CutPrefix(strings.TrimSpace(v), p.prefix)
		if !ok || rest == "" {
			return false
		}
		var err error
		if p.base64 {
			_, err = base64.StdEncoding.DecodeString(rest)
		} else {
			_, err = hex.DecodeString(strings.ToLower(rest))
		}
		return err == nil
	}, p.form())
}

func (p *hmacProvider) form() string {
	enc := "hex"
	if p.base64 {
		enc = "base64"
	}
	return p.prefix + "<" + enc + " HMAC of the body>"
}

func (p *token) explain(h http.Header) refusal {
	const name = "Authorization"
	v := h.Get(name)
	want := "Bearer <token>"
	if p.basic {
		want = "Basic <base64 user:password>"
	}
	scheme, _, _ := strings.Cut(v, " ")
	switch {
	case v == "":
		return refusal{deliverylog.ReasonMissingHeader, "header Authorization is missing (want " + want + ")", name}
	case p.basic && !strings.EqualFold(scheme, "Basic"), !p.basic && !strings.EqualFold(scheme, "Bearer"):
		return refusal{deliverylog.ReasonMalformedHeader, "header Authorization is not " + want, name}
	}
	return refusal{deliverylog.ReasonBadCredentials, fmt.Sprintf(
		"the credentials in Authorization match none of the source's %d secret(s)", len(p.sums)), name}
}
