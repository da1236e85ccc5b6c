package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is the lifetime Mint gives a token when MintClaims.TTL is
// zero: short, because a token cannot be revoked before it expires.
const DefaultTokenTTL = 15 * time.Minute

// MintClaims describes a token to sign.
type MintClaims struct {
	Subject string
	// Name is the display name presence shows (optional).
	Name string
	// Topics are subscribe grants, Publish publish grants: exact topics,
	// "prefix:*" or "*"; "{sub}" expands to Subject at verification.
	Topics, Publish []string
	TTL             time.Duration // 0 = DefaultTokenTTL
	Audience        string        // optional aud
	Now             time.Time     // zero = time.Now()
}

// Mint signs an HS256 token with key (the first HOOKRELAY_TOKEN_KEY). It
// checks the claims the way Verify will, so a minted token is never one the
// relay rejects for its content.
func Mint(key string, c MintClaims) (string, error) {
	if key == "" {
		return "", errors.New("mint token: empty key")
	}
	if err := checkSubject(c.Subject); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	if err := checkName(c.Name); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	if _, err := expandGrants(c.Topics, c.Subject); err != nil {
		return "", fmt.Errorf("mint token: topics: %w", err)
	}
	if _, err := expandGrants(c.Publish, c.Subject); err != nil {
		return "", fmt.Errorf("mint token: publish: %w", err)
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < 0 {
		return "", errors.New("mint token: negative TTL")
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	rc := jwt.RegisteredClaims{
		Subject:   c.Subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if c.Audience != "" {
		rc.Audience = jwt.ClaimStrings{c.Audience}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{RegisteredClaims: rc, Topics: c.Topics, Publish: c.Publish, Name: c.Name})
	s, err := tok.SignedString([]byte(key))
	if err != nil {
		return "", fmt.Errorf("mint token: sign: %w", err)
	}
	return s, nil
}
