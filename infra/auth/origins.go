package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Origins is the browser origin allowlist. It guards WebSocket handshakes
// (cross-site WebSocket hijacking: browsers send cookies on cross-origin
// upgrades and no CORS check applies) and answers CORS for SSE and the HTTP
// API. The zero list still allows requests without an Origin and requests
// from the relay's own host.
type Origins struct {
	// SameHost sets how the relay's own host is matched; zero: the scheme
	// must be the request's (http unless TLS reaches this process).
	SameHost SameHostPolicy

	any       bool
	exact     map[string]bool // "scheme://host[:port]", default port dropped
	wildcards []wildcardOrigin
}

// SameHostPolicy says which schemes a same-host origin may use (L4 of the
// 2026-12 review: the scheme was ignored, so http://<relay host> was
// allowed with credentials).
type SameHostPolicy struct {
	// TrustProxy takes the request's scheme from the last
	// X-Forwarded-Proto entry (the ALB sets it) when TLS ends before us.
	TrustProxy bool
	// HTTPSOnly refuses plain-http same-host origins whatever the request
	// (relay serve: browsers reach it over https).
	HTTPSOnly bool
}

// requestScheme is the scheme the browser used, as far as this process
// can tell.
func (p SameHostPolicy) requestScheme(r *http.Request) string {
	if p.TrustProxy {
		if v := r.Header.Values("X-Forwarded-Proto"); len(v) > 0 {
			parts := strings.Split(v[len(v)-1], ",")
			return strings.ToLower(strings.TrimSpace(parts[len(parts)-1]))
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// schemeOK reports whether a same-host origin's scheme fits the policy.
// Without TLS and without a trusted proxy, serve cannot see the browser's
// scheme (TLS may end at a load balancer), so only HTTPSOnly applies.
func (p SameHostPolicy) schemeOK(r *http.Request, scheme string) bool {
	if p.HTTPSOnly && scheme != "https" {
		return false
	}
	if p.HTTPSOnly && !p.TrustProxy && r.TLS == nil {
		return true
	}
	return scheme == p.requestScheme(r)
}

// wildcardOrigin is "scheme://*.suffix[:port]": any subdomain of suffix.
type wildcardOrigin struct {
	scheme, suffix, port string // suffix starts with "."
}

// CORS answer values; Last-Event-ID lets a fetch-based SSE client resume.
const (
	corsMethods = "GET, POST, PUT, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Last-Event-ID, X-API-Key, Idempotency-Key"
	corsExpose  = "Retry-After"
	corsMaxAge  = "600"
)

// NewOrigins parses the allowlist: "scheme://host[:port]" entries,
// "https://*.example.com" for every subdomain of example.com (not
// example.com itself), or "*" for any origin. "*" must be explicit and
// never comes with credentials (see CORS).
func NewOrigins(allowed []string) (*Origins, error) {
	o := &Origins{exact: make(map[string]bool, len(allowed))}
	for _, raw := range allowed {
		s := strings.TrimSpace(raw)
		if s == "*" {
			o.any = true
			continue
		}
		scheme, host, port, err := parseOrigin(strings.TrimSuffix(s, "/"), true)
		if err != nil {
			return nil, fmt.Errorf("allowed origin %q: %w", raw, err)
		}
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			if !strings.Contains(rest, ".") {
				return nil, fmt.Errorf("allowed origin %q: wildcard needs a domain with at least two labels", raw)
			}
			o.wildcards = append(o.wildcards, wildcardOrigin{scheme: scheme, suffix: "." + rest, port: port})
			continue
		}
		o.exact[joinOrigin(scheme, host, port)] = true
	}
	return o, nil
}

// Allowed reports whether a request may proceed given its Origin header.
// No Origin means a non-browser client (origin checks only protect
// browsers); the relay's own host is always allowed.
func (o *Origins) Allowed(r *http.Request) bool {
	ok, _ := o.check(r)
	return ok
}

// check returns whether the origin is allowed and whether credentials
// (cookies) may accompany it: not when only "*" matched, or any site could
// read a visitor's streams with the visitor's cookie.
func (o *Origins) check(r *http.Request) (ok, credentials bool) {
	if o == nil { // a nil allowlist behaves as an empty one
		o = &Origins{}
	}
	vals := r.Header.Values("Origin")
	if len(vals) == 0 {
		return true, false
	}
	if len(vals) > 1 {
		return false, false
	}
	scheme, host, port, err := parseOrigin(vals[0], false)
	if err == nil {
		if o.sameHost(r.Host, scheme, host, port) && o.SameHost.schemeOK(r, scheme) || o.exact[joinOrigin(scheme, host, port)] {
			return true, true
		}
		for _, w := range o.wildcards {
			if w.scheme == scheme && w.port == port && len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) {
				return true, true
			}
		}
	}
	return o.any, false
}

// sameHost compares the origin's host[:port] with the request's Host; the
// scheme is SameHost's to judge.
func (o *Origins) sameHost(reqHost, scheme, host, port string) bool {
	if reqHost == "" {
		return false
	}
	h, p, err := net.SplitHostPort(reqHost)
	if err != nil {
		h, p = reqHost, ""
	}
	h = strings.ToLower(strings.Trim(h, "[]"))
	if p == defaultPort(scheme) {
		p = ""
	}
	return h == strings.Trim(host, "[]") && p == port
}

// CORS writes the CORS answer headers for an allowed origin and reports
// whether the request may proceed. It always adds "Vary: Origin" so caches
// keep answers per origin. For a preflight (see IsPreflight) it also writes
// the allowed methods and headers; the caller then answers 204.
func (o *Origins) CORS(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	ok, creds := o.check(r)
	origin := r.Header.Get("Origin")
	if !ok || origin == "" {
		return ok
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if creds {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
	if IsPreflight(r) {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	return true
}

// IsPreflight reports whether r is a CORS preflight request.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

var errOriginForm = errors.New("want scheme://host[:port] with scheme http or https and nothing after the host")

// parseOrigin splits a serialized origin into lower-case scheme and host and
// a port ("" when absent or the scheme's default). A leading "*." label is
// accepted only for configured entries.
func parseOrigin(s string, allowWildcard bool) (scheme, host, port string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" ||
		u.Fragment != "" || u.ForceQuery || u.Host == "" {
		return "", "", "", errOriginForm
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "", "", errOriginForm
	}
	host, port = strings.ToLower(u.Hostname()), u.Port()
	if strings.HasSuffix(u.Host, ":") || (port != "" && !validPort(port)) {
		return "", "", "", errors.New("bad port")
	}
	if port == defaultPort(scheme) {
		port = ""
	}
	name := host
	if allowWildcard {
		name = strings.TrimPrefix(host, "*.")
	}
	if !validHost(name) {
		return "", "", "", errors.New("bad host")
	}
	return scheme, host, port, nil
}

func joinOrigin(scheme, host, port string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n <= 65535
}

// validHost accepts DNS names (letters, digits, '-', '_', '.'; browsers send
// IDNs as punycode) and IP literals.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return !strings.HasPrefix(h, ".") && !strings.Contains(h, "..")
}
