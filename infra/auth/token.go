package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// CookieName is the cookie a browser may carry its subscriber token in.
const CookieName = "hookrelay_token"

// MaxTokenBytes bounds a token before any parsing: real tokens are a few
// hundred bytes, and base64+JSON decoding of megabytes is a cheap DoS.
const MaxTokenBytes = 8 << 10

// TokenOptions configures NewTokenAuth. At least one key source is required.
type TokenOptions struct {
	// HS256Keys are shared secrets. The first signs (Mint callers use it),
	// all verify: rotation adds the new key second, then swaps the order,
	// then drops the old key once the longest token TTL has passed.
	HS256Keys []string
	// Audience, when set, must appear in the token's aud claim.
	Audience string
	// JWKSURL is an external issuer's JWK Set (RS256/ES256), fetched at start
	// (a failure is returned) and refreshed in the background until Ctx ends
	// or Close is called. Must be https except on loopback hosts.
	JWKSURL string
	// JWKSFile is a JWK Set read once from disk (RS256/ES256).
	JWKSFile string
	// Issuers lists the iss values a JWKS-signed token may carry; required
	// with a JWKS (M6 of the 2026-12 review: key sets shared across tenants
	// verify tokens minted by any tenant). HS256 tokens are ours and carry
	// no issuer check.
	Issuers []string
	// JWKSRefresh is the background refresh interval (default 1 h). A token
	// with an unknown kid also triggers a refresh, at most once per 5 min.
	JWKSRefresh time.Duration
	// Leeway tolerates clock skew on exp and nbf.
	Leeway time.Duration
	// MaxTTL, when positive, bounds a token's lifetime exp − iat (I3 of the
	// 2026-12 review: a mis-minted token with exp in year 9999 would
	// otherwise be good for ever). Tokens without iat, or with iat in the
	// future, are then refused, since either would dodge the bound.
	MaxTTL time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
	// Ctx bounds the JWKS refresh goroutine (default: until Close).
	Ctx context.Context
	// HTTPClient fetches JWKSURL (default: a client with a 10 s timeout).
	HTTPClient *http.Client
}

// TokenAuth verifies subscriber/publisher JWTs. It is an Authenticator and a
// TokenVerifier and is safe for concurrent use.
type TokenAuth struct {
	hmacKeys [][]byte
	jwks     keyfunc.Keyfunc // nil without a JWKS source
	issuers  []string
	maxTTL   time.Duration
	parser   *jwt.Parser
	now      func() time.Time
	cancel   context.CancelFunc
}

var (
	_ Authenticator = (*TokenAuth)(nil)
	_ TokenVerifier = (*TokenAuth)(nil)
)

// NewTokenAuth builds a verifier. Algorithms are pinned per key source:
// HS256 for the shared keys, RS256/ES256 for JWKS keys; "none" and every
// other algorithm are rejected, and an HS256 token is never checked against
// a JWKS public key (algorithm confusion).
func NewTokenAuth(opts TokenOptions) (*TokenAuth, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a := &TokenAuth{now: now}
	var methods []string
	for i, k := range opts.HS256Keys {
		if k == "" {
			return nil, fmt.Errorf("token auth: HS256 key %d is empty", i+1)
		}
		a.hmacKeys = append(a.hmacKeys, []byte(k))
	}
	if len(a.hmacKeys) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if opts.JWKSURL != "" || opts.JWKSFile != "" {
		if len(opts.Issuers) == 0 {
			return nil, errors.New("token auth: a JWKS needs the issuers its tokens may name (token_issuer)")
		}
		a.issuers = opts.Issuers
		kf, cancel, err := newJWKS(opts)
		if err != nil {
			return nil, fmt.Errorf("token auth: %w", err)
		}
		a.jwks, a.cancel = kf, cancel
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("token auth: no key configured (HS256 key, JWKS URL or JWKS file)")
	}
	if opts.Leeway < 0 {
		return nil, errors.New("token auth: negative leeway")
	}
	if opts.MaxTTL < 0 {
		return nil, errors.New("token auth: negative maximum lifetime")
	}
	a.maxTTL = opts.MaxTTL
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	if opts.MaxTTL > 0 {
		// An iat in the future would let exp − iat look short while exp
		// is far away.
		popts = append(popts, jwt.WithIssuedAt())
	}
	a.parser = jwt.NewParser(popts...)
	return a, nil
}

// Close stops the JWKS background refresh, if any.
func (a *TokenAuth) Close() {
	if a.cancel != nil {
		a.cancel()
	}
}

// Verify checks token and returns its grants. Errors wrap ErrInvalidToken or
// ErrExpired with a short reason; they never contain the token.
func (a *TokenAuth) Verify(ctx context.Context, token string) (*Grants, error) {
	if token == "" {
		return nil, ErrNoCredentials
	}
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenBytes)
	}
	var c claims
	t, err := a.parser.ParseWithClaims(token, &c, a.keyfunc(ctx))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.ExpiresAt != nil && len(c.Audience) == 0 {
			// I1 of the 2026-12 review: the claims were decoded and exp is
			// there, so the missing claim is aud (it was reported as exp).
			return nil, fmt.Errorf("%w: missing aud", ErrInvalidToken)
		}
		return nil, classify(err)
	}
	if err := checkStrict(token); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := a.checkLifetime(&c); err != nil {
		return nil, err
	}
	if t.Method.Alg() != jwt.SigningMethodHS256.Alg() && !slices.Contains(a.issuers, c.Issuer) {
		return nil, fmt.Errorf("%w: issuer not allowed", ErrInvalidToken)
	}
	if err := checkSubject(c.Subject); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := checkName(c.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	sub, err := expandGrants(c.Topics, c.Subject)
	if err != nil {
		return nil, fmt.Errorf("%w: topics: %v", ErrInvalidToken, err)
	}
	pub, err := expandGrants(c.Publish, c.Subject)
	if err != nil {
		return nil, fmt.Errorf("%w: publish: %v", ErrInvalidToken, err)
	}
	// WithExpirationRequired guarantees exp is present here.
	return &Grants{Subject: c.Subject, Name: c.Name, Subscribe: sub, Publish: pub, ExpiresAt: c.ExpiresAt.Time}, nil
}

// checkLifetime enforces MaxTTL on a parsed token (exp is present).
func (a *TokenAuth) checkLifetime(c *claims) error {
	if a.maxTTL <= 0 {
		return nil
	}
	if c.IssuedAt == nil {
		return fmt.Errorf("%w: missing iat (a maximum token lifetime is set)", ErrInvalidToken)
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > a.maxTTL {
		return fmt.Errorf("%w: lifetime exp - iat is longer than %s", ErrInvalidToken, a.maxTTL)
	}
	return nil
}

// keyfunc hands jwt the keys for the token's algorithm only. The parser has
// already enforced the allowlist; this is the second lock against
// confusion: HS256 only ever sees the shared secrets, RS256/ES256 only ever
// see JWKS public keys of the matching type.
func (a *TokenAuth) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case jwt.SigningMethodHS256.Alg():
			if len(a.hmacKeys) == 0 {
				return nil, errAlg
			}
			set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(a.hmacKeys))}
			for i, k := range a.hmacKeys {
				set.Keys[i] = k
			}
			return set, nil
		case jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg():
			if a.jwks == nil {
				return nil, errAlg
			}
			return publicKeyFor(ctx, a.jwks, t)
		}
		return nil, errAlg
	}
}

var errAlg = errors.New("algorithm not allowed")

// classify maps jwt's errors to ours with a fixed reason: jwt's own messages
// are precise but we keep attacker-chosen header values (kid, alg) out of
// logs and answers.
func classify(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: exp has passed", ErrExpired)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: malformed", ErrInvalidToken)
	case errors.Is(err, errAlg):
		return fmt.Errorf("%w: algorithm not allowed", ErrInvalidToken)
	case errors.Is(err, errUnknownKey):
		return fmt.Errorf("%w: unknown signing key", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: no key to verify it", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// Also covers an algorithm outside the allowlist (jwt reports it so).
		return fmt.Errorf("%w: bad signature or algorithm", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: iat is in the future", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: nbf is in the future", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("%w: missing exp", ErrInvalidToken)
	}
	return fmt.Errorf("%w: invalid claims", ErrInvalidToken)
}

// Authenticate reads the token from, in order, "Authorization: Bearer", the
// hookrelay_token cookie, or the token query parameter (EventSource cannot
// set headers). The first one present is the one checked.
func (a *TokenAuth) Authenticate(ctx context.Context, r *http.Request) (*Grants, error) {
	tok := TokenFromRequest(r)
	if tok == "" {
		return nil, ErrNoCredentials
	}
	return a.Verify(ctx, tok)
}

// TokenFromRequest returns the request's token ("" if none), looking where
// Authenticate does.
func TokenFromRequest(r *http.Request) string {
	if t, ok := Bearer(r); ok {
		return t
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value
	}
	return r.URL.Query().Get("token")
}

// Bearer returns the credential of "Authorization: Bearer <x>" (scheme is
// case-insensitive per RFC 9110).
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}
