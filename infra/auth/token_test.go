package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	keyA = "key-A-0123456789abcdef0123456789ab"
	keyB = "key-B-0123456789abcdef0123456789ab"
	keyC = "key-C-not-configured-0123456789abc"
)

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// jwksServer serves a JWK Set that the test may replace, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	body  []byte
	hits  atomic.Int64
	fetch chan struct{} // one value per fetch, dropped when full
	fail  atomic.Bool
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, fetch: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		select {
		case s.fetch <- struct{}{}:
		default:
		}
		if s.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body) // a failed write shows up as a test failure elsewhere
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

// testIssuer is the iss of test tokens, the one JWKS verifiers allow.
const testIssuer = "https://issuer.example/"

func claimsAt(sub string, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": testNow.Add(time.Minute).Unix(), "aud": "hookrelay", "iss": testIssuer, "topics": []string{"user:{sub}"}}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func TestVerifyTable(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.jwks(t))
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, keys.jwks(t), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := TokenOptions{HS256Keys: []string{keyA, keyB}, Audience: "hookrelay", Issuers: []string{testIssuer}, Now: func() time.Time { return testNow }, Ctx: ctx}
	withURL := base
	withURL.JWKSURL = srv.URL
	withFile := base
	withFile.JWKSFile = file
	verifiers := map[string]TokenOptions{"jwks-url": withURL, "jwks-file": withFile}

	pemKey := rsaPublicPEM(t, &keys.rsa.PublicKey)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt("42", nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		want  error // nil = valid
	}{
		{"HS256 first key", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", nil)), nil},
		{"HS256 rotated second key", sign(t, jwt.SigningMethodHS256, []byte(keyB), "", claimsAt("42", nil)), nil},
		{"HS256 wrong key", sign(t, jwt.SigningMethodHS256, []byte(keyC), "", claimsAt("42", nil)), ErrInvalidToken},
		{"alg none", none, ErrInvalidToken},
		{"alg none uppercase", strings.Replace(none, b64([]byte(`{"alg":"none"`)), b64([]byte(`{"alg":"NONE"`)), 1), ErrInvalidToken},
		{"confusion HS256 with RSA public PEM", sign(t, jwt.SigningMethodHS256, pemKey, "rsa1", claimsAt("42", nil)), ErrInvalidToken},
		{"confusion HS256 with RSA modulus", sign(t, jwt.SigningMethodHS256, keys.rsa.N.Bytes(), "rsa1", claimsAt("42", nil)), ErrInvalidToken},
		{"HS384 with a valid key", sign(t, jwt.SigningMethodHS384, []byte(keyA), "", claimsAt("42", nil)), ErrInvalidToken},
		{"RS512 with the JWKS key", sign(t, jwt.SigningMethodRS512, keys.rsa, "rsa1", claimsAt("42", nil)), ErrInvalidToken},
		{"expired", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"exp": testNow.Add(-time.Second).Unix()})), ErrExpired},
		{"missing exp", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"exp": nil})), ErrInvalidToken},
		{"nbf in future", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"nbf": testNow.Add(time.Minute).Unix()})), ErrInvalidToken},
		{"nbf in past", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"nbf": testNow.Add(-time.Minute).Unix()})), nil},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"aud": "other"})), ErrInvalidToken},
		{"aud list containing ours", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"aud": []string{"x", "hookrelay"}})), nil},
		{"missing aud", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"aud": nil})), ErrInvalidToken},
		{"missing sub", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("", jwt.MapClaims{"sub": nil})), ErrInvalidToken},
		{"sub with ':' used in {sub}", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42:*", nil)), ErrInvalidToken},
		{"sub with '*' used in {sub}", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("*", nil)), ErrInvalidToken},
		{"odd sub without {sub}", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("auth0|abc", jwt.MapClaims{"topics": []string{"room:lobby"}})), nil},
		{"bad grant", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"topics": []string{"order:**"}})), ErrInvalidToken},
		{"topics not a list", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"topics": "user:42"})), ErrInvalidToken},
		{"RS256 from JWKS", sign(t, jwt.SigningMethodRS256, keys.rsa, "rsa1", claimsAt("42", nil)), nil},
		// M6 (security review 2026-12): a key set shared across tenants
		// verifies any tenant's tokens; only the configured issuers pass.
		{"RS256 from another issuer", sign(t, jwt.SigningMethodRS256, keys.rsa, "rsa1", claimsAt("42", jwt.MapClaims{"iss": "https://attacker-tenant.example/"})), ErrInvalidToken},
		{"ES256 without issuer", sign(t, jwt.SigningMethodES256, keys.ec, "ec1", claimsAt("42", jwt.MapClaims{"iss": nil})), ErrInvalidToken},
		{"HS256 (our own) with any issuer", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"iss": "whatever"})), nil},
		{"ES256 from JWKS", sign(t, jwt.SigningMethodES256, keys.ec, "ec1", claimsAt("42", nil)), nil},
		{"RS256 without kid", sign(t, jwt.SigningMethodRS256, keys.rsa, "", claimsAt("42", nil)), nil},
		{"RS256 other key same kid", sign(t, jwt.SigningMethodRS256, keys.rsaOther, "rsa1", claimsAt("42", nil)), ErrInvalidToken},
		{"ES256 other key same kid", sign(t, jwt.SigningMethodES256, keys.ecOther, "ec1", claimsAt("42", nil)), ErrInvalidToken},
		{"RS256 naming the EC kid", sign(t, jwt.SigningMethodRS256, keys.rsa, "ec1", claimsAt("42", nil)), ErrInvalidToken},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, keys.rsa, "nope", claimsAt("42", nil)), ErrInvalidToken},
		{"RS256 expired", sign(t, jwt.SigningMethodRS256, keys.rsa, "rsa1", claimsAt("42", jwt.MapClaims{"exp": testNow.Add(-time.Hour).Unix()})), ErrExpired},
		{"name claim", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"name": "Zoë O'Brien"})), nil},
		{"name with a newline", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"name": "a\nb"})), ErrInvalidToken},
		{"name too long", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"name": strings.Repeat("n", 129)})), ErrInvalidToken},
		{"name not a string", sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"name": 7})), ErrInvalidToken},
		{"garbage", "not.a.token", ErrInvalidToken},
		{"too long", strings.Repeat("a", MaxTokenBytes+1), ErrInvalidToken},
		{"empty", "", ErrNoCredentials},
	}
	for vname, opts := range verifiers {
		a, err := NewTokenAuth(opts)
		if err != nil {
			t.Fatalf("%s: %v", vname, err)
		}
		for _, tc := range cases {
			g, err := a.Verify(context.Background(), tc.token)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("%s/%s: unexpected error %v", vname, tc.name, err)
			case tc.want == nil:
				if g.Subject == "" || g.ExpiresAt.IsZero() {
					t.Errorf("%s/%s: grants %+v", vname, tc.name, g)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("%s/%s: err %v, want %v", vname, tc.name, err, tc.want)
			default:
				if leaks(err, tc.token) {
					t.Errorf("%s/%s: error leaks the token: %v", vname, tc.name, err)
				}
			}
		}
		a.Close()
	}
}

// leaks reports whether err's text contains the token or any long segment
// of it.
func leaks(err error, token string) bool {
	for _, seg := range append(strings.Split(token, "."), token) {
		if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
			return true
		}
	}
	return false
}

func TestVerifyGrantExpansion(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, []byte(keyA), "", jwt.MapClaims{
		"sub": "u-42", "exp": testNow.Add(time.Minute).Unix(),
		"topics": []string{"user:{sub}", "orders:{sub}:*", "room:lobby"}, "publish": []string{"room:{sub}"}})
	g, err := a.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]bool{"user:u-42": true, "user:u-43": false, "orders:u-42:1": true, "orders:u-43:1": false, "room:lobby": true} {
		if g.CanSubscribe(topic) != want {
			t.Errorf("CanSubscribe(%s) = %v", topic, !want)
		}
	}
	if !g.CanPublish("room:u-42") || g.CanPublish("room:lobby") {
		t.Errorf("publish grants %v", g.Publish)
	}
	// Without an audience configured, tokens with or without aud verify.
	if _, err := a.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", nil))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLeeway(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Leeway: 10 * time.Second, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	in := sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"exp": testNow.Add(-5 * time.Second).Unix()}))
	if _, err := a.Verify(context.Background(), in); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	out := sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", jwt.MapClaims{"exp": testNow.Add(-15 * time.Second).Unix()}))
	if _, err := a.Verify(context.Background(), out); !errors.Is(err, ErrExpired) {
		t.Fatalf("beyond leeway: %v", err)
	}
}

func TestJWKSOnlyRejectsHS256(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.jwks(t))
	a, err := NewTokenAuth(TokenOptions{JWKSURL: srv.URL, Issuers: []string{testIssuer}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, secret := range [][]byte{rsaPublicPEM(t, &keys.rsa.PublicKey), []byte(keyA)} {
		tok := sign(t, jwt.SigningMethodHS256, secret, "rsa1", claimsAt("42", nil))
		if _, err := a.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("HS256 accepted by a JWKS-only verifier: %v", err)
		}
	}
}

func TestJWKSUnknownKidRefreshes(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, jwksJSON(t, rsaJWK("rsa1", &keys.rsa.PublicKey)))
	a, err := NewTokenAuth(TokenOptions{JWKSURL: srv.URL, Issuers: []string{testIssuer}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// The issuer rotates: a new key appears after the relay started.
	srv.set(jwksJSON(t, rsaJWK("rsa1", &keys.rsa.PublicKey), rsaJWK("rsa2", &keys.rsaOther.PublicKey)))
	tok := sign(t, jwt.SigningMethodRS256, keys.rsaOther, "rsa2", claimsAt("42", nil))
	if _, err := a.Verify(context.Background(), tok); err != nil {
		t.Fatalf("new kid after refresh: %v", err)
	}
	// A flood of unknown kids does not fetch again (rate limited) nor block.
	before := srv.hits.Load()
	start := time.Now()
	for i := 0; i < 20; i++ {
		bad := sign(t, jwt.SigningMethodRS256, keys.rsa, "flood", claimsAt("42", nil))
		if _, err := a.Verify(context.Background(), bad); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if got := srv.hits.Load() - before; got != 0 {
		t.Fatalf("unknown kid flood fetched the JWKS %d times", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("unknown kid flood took %v", d)
	}
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.jwks(t))
	a, err := NewTokenAuth(TokenOptions{JWKSURL: srv.URL, Issuers: []string{testIssuer}, JWKSRefresh: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	timeout := time.After(5 * time.Second)
	for i := 0; i < 3; i++ { // the start fetch, then two refreshes
		select {
		case <-srv.fetch:
		case <-timeout:
			t.Fatalf("JWKS fetched %d times in 5 s with a 20 ms refresh", srv.hits.Load())
		}
	}
}

func TestNewTokenAuthErrors(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.jwks(t))
	srv.fail.Store(true)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.json")
	if err := os.WriteFile(good, keys.jwks(t), 0o600); err != nil {
		t.Fatal(err)
	}
	iss := []string{testIssuer}
	for name, opts := range map[string]TokenOptions{
		"no key":           {},
		"empty key":        {HS256Keys: []string{keyA, ""}},
		"jwks down":        {JWKSURL: srv.URL, Issuers: []string{testIssuer}},
		"jwks no issuer":   {JWKSFile: good},
		"jwks plain http":  {JWKSURL: "http://issuer.example.com/jwks.json", Issuers: iss},
		"jwks bad scheme":  {JWKSURL: "ftp://issuer.example.com/jwks.json", Issuers: iss},
		"jwks file absent": {JWKSFile: filepath.Join(t.TempDir(), "none.json"), Issuers: iss},
		"jwks file empty":  {JWKSFile: bad, Issuers: iss},
		"both jwks":        {JWKSURL: srv.URL, JWKSFile: bad, Issuers: iss},
		"negative leeway":  {HS256Keys: []string{keyA}, Leeway: -time.Second},
	} {
		if a, err := NewTokenAuth(opts); err == nil {
			a.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAuthenticateSources(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("good", nil))
	bad := sign(t, jwt.SigningMethodHS256, []byte(keyC), "", claimsAt("bad", nil))
	cases := []struct {
		name                  string
		header, cookie, query string
		want                  error
	}{
		{"header", "Bearer " + good, "", "", nil},
		{"header scheme case", "bearer " + good, "", "", nil},
		{"cookie", "", good, "", nil},
		{"query", "", "", good, nil},
		{"header wins over cookie", "Bearer " + bad, good, "", ErrInvalidToken},
		{"cookie wins over query", "", good, bad, nil},
		{"basic auth is not a token", "Basic " + good, "", "", ErrNoCredentials},
		{"nothing", "", "", "", ErrNoCredentials},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/sse?topic=x&token="+tc.query, nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: tc.cookie})
		}
		_, err := a.Authenticate(context.Background(), r)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAllowAll(t *testing.T) {
	var a Authenticator = AllowAll{}
	g, err := a.Authenticate(context.Background(), httptest.NewRequest("GET", "/", nil))
	if err != nil || g.Subject != "anonymous" || !g.CanSubscribe("any:thing") || !g.CanPublish("x") || !g.ExpiresAt.IsZero() {
		t.Fatalf("%+v %v", g, err)
	}
	var v TokenVerifier = AllowAll{}
	if g, err := v.Verify(context.Background(), "whatever"); err != nil || !g.CanSubscribe("a") {
		t.Fatalf("%+v %v", g, err)
	}
}

func TestMint(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, Audience: "hookrelay", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(keyA, MintClaims{Subject: "42", Topics: []string{"user:{sub}"}, Publish: []string{"room:*"}, TTL: time.Hour, Audience: "hookrelay", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !g.CanSubscribe("user:42") || !g.CanPublish("room:a") || !g.ExpiresAt.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("%+v", g)
	}
	for name, c := range map[string]MintClaims{
		"no subject":          {Topics: []string{"a"}},
		"bad grant":           {Subject: "42", Topics: []string{"a b"}},
		"bad sub for {sub}":   {Subject: "4:2", Topics: []string{"user:{sub}"}},
		"negative ttl":        {Subject: "42", TTL: -time.Second},
		"control char in sub": {Subject: "4\n2"},
	} {
		if _, err := Mint(keyA, c); err == nil {
			t.Errorf("%s: minted", name)
		}
	}
	if _, err := Mint("", MintClaims{Subject: "42"}); err == nil {
		t.Error("empty key minted")
	}
	// Expired minted token is reported as expired.
	old, err := Mint(keyA, MintClaims{Subject: "42", TTL: time.Minute, Audience: "hookrelay", Now: testNow.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(context.Background(), old); !errors.Is(err, ErrExpired) {
		t.Fatalf("old token: %v", err)
	}
}

// TestVerifyConcurrent runs verifications on several goroutines while the
// JWKS refreshes in the background (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.jwks(t))
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}, JWKSURL: srv.URL, Issuers: []string{testIssuer}, JWKSRefresh: 5 * time.Millisecond, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	toks := []string{
		sign(t, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", nil)),
		sign(t, jwt.SigningMethodRS256, keys.rsa, "rsa1", claimsAt("42", nil)),
		sign(t, jwt.SigningMethodES256, keys.ec, "ec1", claimsAt("42", nil)),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if _, err := a.Verify(context.Background(), toks[(i+j)%len(toks)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestJWKSLimits(t *testing.T) {
	keys := newTestKeys(t)
	big := append([]byte(`{"keys":[`), keys.jwks(t)[len(`{"keys":[`):]...)
	big = append(big[:len(big)-2], []byte(`,`+strings.Repeat(`{"kty":"oct","k":"AAAA"},`, maxJWKSBytes/24)+`{"kty":"oct","k":"AAAA"}]}`)...)
	huge := newJWKSServer(t, big)
	if a, err := NewTokenAuth(TokenOptions{JWKSURL: huge.URL}); err == nil {
		a.Close()
		t.Error("JWKS over 1 MiB accepted")
	}
	// A redirect to a plain-http, non-loopback URL is refused.
	redir := httptest.NewServer(http.RedirectHandler("http://issuer.example.com/jwks.json", http.StatusFound))
	defer redir.Close()
	if a, err := NewTokenAuth(TokenOptions{JWKSURL: redir.URL}); err == nil {
		a.Close()
		t.Error("redirect to plain http followed")
	}
}

// TestNameClaim: the display name presence shows travels in the token, and
// Mint refuses one Verify would refuse.
func TestNameClaim(t *testing.T) {
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(keyA, MintClaims{Subject: "u1", Name: "Ada Lovelace", Topics: []string{"room:*"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "Ada Lovelace" {
		t.Errorf("name = %q, want Ada Lovelace", g.Name)
	}
	if _, err := Mint(keyA, MintClaims{Subject: "u1", Name: "bell\a"}); err == nil {
		t.Error("Mint accepted a name with a control character")
	}
}
