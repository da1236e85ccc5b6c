package hostile

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// Forged and broken tokens. Each would grant control:* and order:* if it
// were accepted, so a wrong 200 is visible.

var forgedGrants = []any{"order:*", "user:{sub}"}

func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "mallory", "aud": "hookrelay", "topics": forgedGrants,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func sign(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims, header map[string]any, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign forged token: %v", err)
	}
	return s
}

// tokenAlgNone is unsigned: {"alg":"none"} and an empty signature.
func tokenAlgNone(t *testing.T) string {
	return sign(t, jwt.SigningMethodNone, goodClaims(time.Now()), nil, jwt.UnsafeAllowNoneSignatureType)
}

// tokenAlgNoneUpper: the same with "NONE", in case a check is case-sensitive.
func tokenAlgNoneUpper(t *testing.T) string {
	s := tokenAlgNone(t)
	parts := strings.Split(s, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"NONE","typ":"JWT"}`))
	return strings.Join(parts, ".")
}

func tokenWrongKey(t *testing.T) string {
	return mint(t, "not-the-relay-key-but-long-enough-0123456789", auth.MintClaims{Subject: "mallory", Topics: []string{"order:*"}, Audience: "hookrelay", TTL: time.Hour})
}

func tokenExpired(t *testing.T) string {
	return mint(t, relaytest.TokenKey, auth.MintClaims{Subject: "mallory", Topics: []string{"order:*"}, Audience: "hookrelay",
		TTL: time.Minute, Now: time.Now().Add(-2 * time.Hour)})
}

func tokenNotYetValid(t *testing.T) string {
	c := goodClaims(time.Now())
	c["nbf"] = time.Now().Add(time.Hour).Unix()
	c["exp"] = time.Now().Add(2 * time.Hour).Unix()
	return sign(t, jwt.SigningMethodHS256, c, nil, []byte(relaytest.TokenKey))
}

func tokenWrongAudience(t *testing.T) string {
	return mint(t, relaytest.TokenKey, auth.MintClaims{Subject: "mallory", Topics: []string{"order:*"}, Audience: "someone-else", TTL: time.Hour})
}

// tokenNoExp has every claim but exp (required).
func tokenNoExp(t *testing.T) string {
	c := goodClaims(time.Now())
	delete(c, "exp")
	return sign(t, jwt.SigningMethodHS256, c, nil, []byte(relaytest.TokenKey))
}

// tokenHSWithPublicKey is the algorithm-confusion attack: HS256 "signed"
// with the issuer's public RSA key (which is public) and its kid.
func tokenHSWithPublicKey(t *testing.T, pemKey []byte) string {
	return sign(t, jwt.SigningMethodHS256, goodClaims(time.Now()), map[string]any{"kid": jwksKid}, pemKey)
}

// tokenWideSubject: a subject that would widen "user:{sub}" into user:*.
func tokenWideSubject(t *testing.T) string {
	c := goodClaims(time.Now())
	c["sub"] = "x:*"
	return sign(t, jwt.SigningMethodHS256, c, nil, []byte(relaytest.TokenKey))
}

// tokenHuge is over auth.MaxTokenBytes.
func tokenHuge() string {
	return "eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("A", auth.MaxTokenBytes) + ".sig"
}

func mint(t *testing.T, key string, c auth.MintClaims) string {
	t.Helper()
	s, err := auth.Mint(key, c)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return s
}

// token is a real token of the relay's key.
func (e *env) token(t *testing.T, sub string, subscribe, publish []string) string {
	t.Helper()
	return e.r.Token(t, sub, subscribe, publish)
}
