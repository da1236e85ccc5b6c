package auth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify measures one token check per algorithm: it runs on every
// SSE/WS connect and every token-authenticated publish.
func BenchmarkVerify(b *testing.B) {
	keys := newTestKeys(b)
	file := filepath.Join(b.TempDir(), "jwks.json")
	if err := os.WriteFile(file, keys.jwks(b), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := NewTokenAuth(TokenOptions{HS256Keys: []string{keyA, keyB}, JWKSFile: file, Issuers: []string{testIssuer}, Audience: "hookrelay", Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	for name, tok := range map[string]string{
		"HS256":         sign(b, jwt.SigningMethodHS256, []byte(keyA), "", claimsAt("42", nil)),
		"HS256-rotated": sign(b, jwt.SigningMethodHS256, []byte(keyB), "", claimsAt("42", nil)),
		"RS256":         sign(b, jwt.SigningMethodRS256, keys.rsa, "rsa1", claimsAt("42", nil)),
		"ES256":         sign(b, jwt.SigningMethodES256, keys.ec, "ec1", claimsAt("42", nil)),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
