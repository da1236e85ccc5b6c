package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: no token string panics the verifier, and none succeeds: the
// verifier's HS256 key signs nothing in the corpus and the private halves of
// testdata/fuzz_jwks.json are gone, so a success is a forged signature.
func FuzzVerify(f *testing.F) {
	a, err := NewTokenAuth(TokenOptions{
		HS256Keys: []string{keyA},
		JWKSFile:  "testdata/fuzz_jwks.json",
		Issuers:   []string{testIssuer},
		Audience:  "hookrelay",
		Now:       func() time.Time { return testNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		g, err := a.Verify(context.Background(), token)
		if err == nil {
			t.Fatalf("token verified without a valid signature: grants %+v", g)
		}
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("error wraps no auth sentinel: %v", err)
		}
		if leaks(err, token) {
			t.Fatalf("error leaks the token: %v", err)
		}
	})
}

// FuzzOrigin: arbitrary Origin and Host values never panic, and whatever is
// allowed is explainable by the allowlist or the same-host rule.
func FuzzOrigin(f *testing.F) {
	o, err := NewOrigins([]string{"https://app.example.com", "http://localhost:3000", "https://*.example.org"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("https://app.example.com", "relay.example.com")
	f.Add("https://a.example.org", "relay.example.com")
	f.Fuzz(func(t *testing.T, origin, host string) {
		// NewOrigins on arbitrary input must not panic either.
		if o2, err := NewOrigins([]string{origin}); err == nil {
			o2.Allowed(httptest.NewRequest("GET", "/", nil))
		}
		r := httptest.NewRequest("GET", "/v1/ws", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		ok := o.CORS(w, r)
		if ok != o.Allowed(r) {
			t.Fatal("CORS and Allowed disagree")
		}
		acao := w.Header().Get("Access-Control-Allow-Origin")
		if !ok {
			if acao != "" {
				t.Fatalf("refused origin got ACAO %q", acao)
			}
			return
		}
		if origin == "" {
			return
		}
		if acao != origin {
			t.Fatalf("ACAO %q is not the request origin %q", acao, origin)
		}
		if !explainable(origin, host) {
			t.Fatalf("origin %q allowed for host %q", origin, host)
		}
	})
}

// explainable is an independent, deliberately naive statement of the rules.
func explainable(origin, host string) bool {
	lo := strings.ToLower(origin)
	switch lo {
	case "https://app.example.com", "https://app.example.com:443", "http://localhost:3000":
		return true
	}
	if rest, ok := strings.CutPrefix(lo, "https://"); ok {
		rest = strings.TrimSuffix(rest, ":443")
		if strings.HasSuffix(rest, ".example.org") && !strings.ContainsAny(rest, "/:@?#") {
			return true
		}
	}
	// Same host: the origin's authority equals the Host header, give or
	// take case, brackets and a default port.
	_, authority, _ := strings.Cut(lo, "://")
	unbracket := strings.NewReplacer("[", "", "]", "")
	authority, h := unbracket.Replace(authority), unbracket.Replace(strings.ToLower(host))
	// An empty port ("host:") means the default port (RFC 3986 3.2.3).
	authority, h = strings.TrimSuffix(authority, ":"), strings.TrimSuffix(h, ":")
	for _, p := range []string{":80", ":443"} {
		if strings.TrimSuffix(h, p) == strings.TrimSuffix(authority, p) {
			return true
		}
	}
	return authority == h
}
