package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Sessions are stateless: the cookie holds an expiry and a nonce, MACed
// with a key derived from the admin key, so every relay sharing the admin
// key accepts it (the load balancer may send the next request elsewhere)
// and changing the admin key ends every session. The CSRF token is a
// second MAC of the cookie value: the page learns it from GET
// /console/api/session and sends it in a header on every state-changing
// call; a cross-site page can neither read it nor set the header without a
// preflight the console never answers.

// CookieName is the console's session cookie, scoped to /console.
const CookieName = "hookrelay_console"

// CSRFHeader carries the CSRF token on state-changing calls.
const CSRFHeader = "X-Console-CSRF"

var errNoSession = errors.New("no valid console session: sign in with the admin key")

type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func newSessions(adminKey string, ttl time.Duration, now func() time.Time) *sessions {
	m := hmac.New(sha256.New, []byte(adminKey))
	m.Write([]byte("hookrelay console session v1"))
	return &sessions{key: m.Sum(nil), ttl: ttl, now: now}
}

func (s *sessions) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// issue returns a new cookie value and its expiry.
func (s *sessions) issue() (string, time.Time) {
	exp := s.now().Add(s.ttl)
	payload := make([]byte, 8+16)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	_, _ = rand.Read(payload[8:]) // never fails (Go 1.24+)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload)), exp
}

// check verifies a cookie value and returns its expiry.
func (s *sessions) check(v string) (time.Time, error) {
	if len(v) > 200 {
		return time.Time{}, errNoSession
	}
	p, m, ok := strings.Cut(v, ".")
	// Strict refuses stray bits in the last character; the decoder still
	// skips CR and LF, so a value with them is refused here: only the
	// exact bytes issued are a session.
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || strings.ContainsAny(v, "\r\n") || len(payload) != 24 || !hmac.Equal(sum, s.mac(payload)) {
		return time.Time{}, errNoSession
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
	if !s.now().Before(exp) {
		return time.Time{}, errors.New("console session expired: sign in again")
	}
	return exp, nil
}

// csrf is the CSRF token bound to a session cookie value.
func (s *sessions) csrf(cookie string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac([]byte("csrf"), []byte(cookie)))
}

// fromRequest returns the request's valid session cookie value.
func (s *sessions) fromRequest(r *http.Request) (string, time.Time, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return "", time.Time{}, errNoSession
	}
	exp, err := s.check(c.Value)
	return c.Value, exp, err
}

// cookie builds the session cookie (or, with value "", its deletion).
func cookie(r *http.Request, value string, exp time.Time) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: value, Path: "/console", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r), Expires: exp}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// secure reports whether the browser reached us over HTTPS (directly, or
// through the ALB, which sets X-Forwarded-Proto).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sameOrigin refuses requests a browser made for another site: a
// Sec-Fetch-Site other than same-origin (or none: typed in the address
// bar), or an Origin whose host is not the request's. requireOrigin makes
// a missing Origin a refusal too (state-changing calls: browsers always
// send it on POST).
func sameOrigin(r *http.Request, requireOrigin bool) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return errors.New("request from another site (Sec-Fetch-Site: " + site + ")")
	}
	o := r.Header.Get("Origin")
	if o == "" {
		if requireOrigin {
			return errors.New("missing Origin header")
		}
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("request from another origin (" + o + ")")
	}
	return nil
}
