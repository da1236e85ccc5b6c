package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Signing helpers produce headers exactly as the providers do, for tests,
// the chaos suite, the end-to-end tests and the relay's demo. They are the
// mirror image of the verifiers in providers.go.

// SignStripe returns a Stripe-Signature header value "t=<unix>,v1=<hex>":
// HMAC-SHA256 with the endpoint secret (whsec_…, used as is) over
// "<unix>.<body>".
func SignStripe(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(stripeMAC([]byte(secret), ts, body))
}

// SignGitHub returns an X-Hub-Signature-256 header value "sha256=<hex>":
// HMAC-SHA256 of the raw body.
func SignGitHub(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(sha256.New, []byte(secret), body))
}

// SignShopify returns an X-Shopify-Hmac-Sha256 header value: base64
// HMAC-SHA256 of the raw body with the app's client secret.
func SignShopify(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(sha256.New, []byte(secret), body))
}

// SignStandard returns a Standard Webhooks webhook-signature header value
// "v1,<base64>": HMAC-SHA256 over "<id>.<unix>.<body>" keyed with the
// base64-decoded secret (the part after "whsec_"). The caller also sends
// webhook-id: id and webhook-timestamp: t.Unix(). A secret that is not
// valid base64 yields "" (the verifier rejects such secrets at start).
func SignStandard(secret, id string, t time.Time, body []byte) string {
	key, err := standardKey(secret)
	if err != nil {
		return ""
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, id, ts, body))
}

// SignHMAC returns the header value the generic hmac provider expects:
// prefix + encoding(HMAC-algorithm(secret, body)). algorithm is sha256
// (default, also for ""), sha1 or sha512; encoding hex (default) or base64.
func SignHMAC(secret, algorithm, encoding, prefix string, body []byte) string {
	sum := mac(hashFunc(algorithm), []byte(secret), body)
	if strings.EqualFold(encoding, "base64") {
		return prefix + base64.StdEncoding.EncodeToString(sum)
	}
	return prefix + hex.EncodeToString(sum)
}

func mac(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

func stripeMAC(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// standardKey decodes a Standard Webhooks secret: "whsec_" + base64 (the
// prefix is optional, as in the reference libraries).
func standardKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}

func hashFunc(algorithm string) func() hash.Hash {
	switch strings.ToLower(algorithm) {
	case "sha1":
		return sha1.New
	case "sha512":
		return sha512.New
	}
	return sha256.New
}
