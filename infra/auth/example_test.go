package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hookrelay/hookrelay/infra/auth"
)

// The key would come from HOOKRELAY_TOKEN_KEY (>= 32 random bytes).
const exampleKey = "example-key-0123456789abcdef-0123"

var exampleNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// An app backend mints a subscriber token with hookrelay's helper
// (docs/security.md, "Minting tokens").
func ExampleMint() {
	tok, err := auth.Mint(exampleKey, auth.MintClaims{
		Subject:  "42",
		Topics:   []string{"user:{sub}", "order:1042"},
		TTL:      15 * time.Minute,
		Audience: "hookrelay",
		Now:      exampleNow,
	})
	if err != nil {
		panic(err)
	}
	v, err := auth.NewTokenAuth(auth.TokenOptions{
		HS256Keys: []string{exampleKey},
		Audience:  "hookrelay",
		Now:       func() time.Time { return exampleNow },
	})
	if err != nil {
		panic(err)
	}
	g, err := v.Verify(context.Background(), tok)
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Subject, g.Subscribe, g.CanSubscribe("user:42"), g.CanSubscribe("user:43"), g.ExpiresAt)
	// Output: 42 [user:42 order:1042] true false 2026-11-23 10:15:00 +0000 UTC
}

// The same token minted with golang-jwt directly, as any backend without
// hookrelay's packages would.
func ExampleTokenAuth_Verify_golangJWT() {
	claims := jwt.MapClaims{
		"sub":    "42",
		"topics": []string{"user:42"},
		"aud":    "hookrelay",
		"exp":    exampleNow.Add(15 * time.Minute).Unix(),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(exampleKey))
	if err != nil {
		panic(err)
	}
	v, err := auth.NewTokenAuth(auth.TokenOptions{
		HS256Keys: []string{exampleKey},
		Audience:  "hookrelay",
		Now:       func() time.Time { return exampleNow },
	})
	if err != nil {
		panic(err)
	}
	g, err := v.Verify(context.Background(), tok)
	fmt.Println(g.Subject, g.CanSubscribe("user:42"), err)
	// Output: 42 true <nil>
}
