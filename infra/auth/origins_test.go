package auth

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestOriginsAllowed(t *testing.T) {
	o, err := NewOrigins([]string{"https://app.example.com", "http://localhost:3000/", "https://*.example.org", "HTTPS://Mixed.Example.NET:443"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		origin, host string
		want         bool
	}{
		{"", "relay.example.com", true}, // not a browser
		{"https://app.example.com", "relay.example.com", true},
		{"https://app.example.com:443", "relay.example.com", true},
		{"https://APP.example.com", "relay.example.com", true},
		{"http://app.example.com", "relay.example.com", false}, // scheme differs
		{"https://app.example.com:8443", "relay.example.com", false},
		{"https://app.example.com.evil.com", "relay.example.com", false},
		{"https://evilapp.example.com", "relay.example.com", false},
		{"https://app.example.com/", "relay.example.com", false}, // not a serialized origin
		{"https://user@app.example.com", "relay.example.com", false},
		{"http://localhost:3000", "relay.example.com", true},
		{"http://localhost:3001", "relay.example.com", false},
		{"https://a.example.org", "relay.example.com", true},
		{"https://a.b.example.org", "relay.example.com", true},
		{"https://example.org", "relay.example.com", false}, // wildcard is subdomains only
		{"https://evilexample.org", "relay.example.com", false},
		{"http://a.example.org", "relay.example.com", false},
		{"https://mixed.example.net", "relay.example.com", true},
		{"https://relay.example.com", "relay.example.com", false}, // same host, but this request is plain http (L4)
		{"http://relay.example.com", "relay.example.com", true},   // same host and scheme
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"http://127.0.0.1:8081", "127.0.0.1:8080", false},
		{"http://[::1]:8080", "[::1]:8080", true},
		{"https://evil.com", "relay.example.com", false},
		{"null", "relay.example.com", false},
		{"file://", "relay.example.com", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/ws", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := o.Allowed(r); got != tc.want {
			t.Errorf("origin %q host %q: got %v", tc.origin, tc.host, got)
		}
	}

	r := httptest.NewRequest("GET", "/v1/ws", nil)
	r.Header.Add("Origin", "https://app.example.com")
	r.Header.Add("Origin", "https://evil.com")
	if o.Allowed(r) {
		t.Error("two Origin headers allowed")
	}
}

func TestOriginsStar(t *testing.T) {
	none, err := NewOrigins(nil)
	if err != nil {
		t.Fatal(err)
	}
	star, err := NewOrigins([]string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/sse", nil)
	r.Header.Set("Origin", "https://anything.test")
	if none.Allowed(r) {
		t.Error("empty list allowed a foreign origin")
	}
	var nilOrigins *Origins
	if nilOrigins.Allowed(r) || !nilOrigins.Allowed(httptest.NewRequest("GET", "/", nil)) {
		t.Error("nil *Origins must behave as an empty list")
	}
	if !star.Allowed(r) {
		t.Error("explicit * refused")
	}
	w := httptest.NewRecorder()
	if !star.CORS(w, r) || w.Header().Get("Access-Control-Allow-Origin") != "https://anything.test" {
		t.Errorf("star CORS headers %v", w.Header())
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("* must not allow credentials")
	}
}

func TestOriginsCORS(t *testing.T) {
	o, err := NewOrigins([]string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Preflight from an allowed origin.
	r := httptest.NewRequest("OPTIONS", "/v1/publish", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	if !IsPreflight(r) || !o.CORS(w, r) {
		t.Fatal("preflight refused")
	}
	h := w.Header()
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, PUT, OPTIONS",
		"Access-Control-Allow-Headers":     "Authorization, Content-Type, Last-Event-ID, X-API-Key, Idempotency-Key",
		"Access-Control-Max-Age":           "600",
		"Access-Control-Expose-Headers":    "Retry-After",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if h.Values("Vary")[0] != "Origin" {
		t.Errorf("Vary %v", h.Values("Vary"))
	}

	// Simple request: no preflight headers.
	r = httptest.NewRequest("GET", "/v1/sse", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w = httptest.NewRecorder()
	if !o.CORS(w, r) || w.Header().Get("Access-Control-Allow-Methods") != "" || w.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("simple request headers %v", w.Header())
	}

	// Refused origin: nothing but Vary.
	r.Header.Set("Origin", "https://evil.com")
	w = httptest.NewRecorder()
	if o.CORS(w, r) || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Vary") != "Origin" {
		t.Errorf("refused origin headers %v", w.Header())
	}

	// No Origin: allowed, no CORS headers.
	r = httptest.NewRequest("GET", "/v1/sse", nil)
	w = httptest.NewRecorder()
	if !o.CORS(w, r) || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no-origin headers %v", w.Header())
	}
}

func TestNewOriginsErrors(t *testing.T) {
	for _, bad := range []string{"app.example.com", "ftp://x.com", "https://x.com/path", "https://x.com?q", "https://*.com", "https://", "https://x.com:0", "https://x.com:99999", "https://a b.com", "https://*.*.x.com"} {
		if _, err := NewOrigins([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// L4 (security review 2026-12): the same-host rule ignored the scheme, so
// http://<relay host> was allowed with credentials even where browsers use
// https. The scheme now has to fit the policy: the request's own (TLS or,
// behind a trusted proxy, X-Forwarded-Proto), and https only in serve.
func TestSameHostScheme(t *testing.T) {
	cases := []struct {
		name      string
		policy    SameHostPolicy
		origin    string
		tls       bool
		forwarded string
		want      bool
	}{
		{"dev plain http", SameHostPolicy{}, "http://relay.example.com", false, "", true},
		{"dev https origin on plain http", SameHostPolicy{}, "https://relay.example.com", false, "", false},
		{"dev https over TLS", SameHostPolicy{}, "https://relay.example.com", true, "", true},
		{"serve http origin", SameHostPolicy{HTTPSOnly: true}, "http://relay.example.com", false, "", false},
		{"serve https origin, TLS ended before us", SameHostPolicy{HTTPSOnly: true}, "https://relay.example.com", false, "", true},
		{"serve behind ALB, https", SameHostPolicy{HTTPSOnly: true, TrustProxy: true}, "https://relay.example.com", false, "https", true},
		{"serve behind ALB, page over http", SameHostPolicy{HTTPSOnly: true, TrustProxy: true}, "https://relay.example.com", false, "http", false},
		{"proxy http page, http origin", SameHostPolicy{TrustProxy: true}, "http://relay.example.com", false, "http", true},
		{"proxy https page, http origin", SameHostPolicy{TrustProxy: true}, "http://relay.example.com", false, "https", false},
	}
	for _, tc := range cases {
		o, err := NewOrigins(nil)
		if err != nil {
			t.Fatal(err)
		}
		o.SameHost = tc.policy
		r := httptest.NewRequest("GET", "/v1/ws", nil)
		r.Host = "relay.example.com"
		r.Header.Set("Origin", tc.origin)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		} else {
			r.TLS = nil
		}
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-Proto", tc.forwarded)
		}
		if got := o.Allowed(r); got != tc.want {
			t.Errorf("%s: allowed = %v; want %v", tc.name, got, tc.want)
		}
	}
}
