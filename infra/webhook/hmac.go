package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
)

// hmacProvider is the generic scheme: Header = Prefix +
// Encoding(HMAC-Algorithm(secret, raw body)), with an optional delivery id
// header.
type hmacProvider struct {
	keys     [][]byte
	header   string
	prefix   string
	base64   bool
	hash     func() hash.Hash
	idHeader string
	typ      genericType
}

func newHMAC(o config.WebhookHMAC, keys [][]byte, typ genericType) (*hmacProvider, error) {
	p := &hmacProvider{keys: keys, header: o.Header, prefix: o.Prefix, idHeader: o.IDHeader, typ: typ}
	if p.header == "" {
		p.header = "X-Signature"
	}
	switch strings.ToLower(o.Algorithm) {
	case "", "sha256", "sha1", "sha512":
		p.hash = hashFunc(o.Algorithm)
	default:
		return nil, fmt.Errorf("hmac.algorithm: %q is not one of sha256, sha1, sha512", o.Algorithm)
	}
	switch strings.ToLower(o.Encoding) {
	case "", "hex":
	case "base64":
		p.base64 = true
	default:
		return nil, fmt.Errorf("hmac.encoding: %q is not one of hex, base64", o.Encoding)
	}
	return p, nil
}

func (p *hmacProvider) verify(h http.Header, body []byte, _ time.Time) bool {
	v, ok := strings.CutPrefix(strings.TrimSpace(h.Get(p.header)), p.prefix)
	if !ok || v == "" {
		return false
	}
	var sig []byte
	var err error
	if p.base64 {
		sig, err = base64.StdEncoding.DecodeString(v)
	} else {
		sig, err = hex.DecodeString(strings.ToLower(v))
	}
	if err != nil {
		return false
	}
	return anyMAC(sig, func(k []byte) []byte { return mac(p.hash, k, body) }, p.keys)
}

// signsID: the id header is outside the signature, which covers the body.
func (p *hmacProvider) signsID() bool { return false }

func (p *hmacProvider) identify(h http.Header, body any) (string, string) {
	id := ""
	if p.idHeader != "" {
		id = h.Get(p.idHeader)
	}
	return p.typ.of(h, body), id
}
