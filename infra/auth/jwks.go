package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// errUnknownKey: the token names (or, without kid, matches) no usable key.
var errUnknownKey = errors.New("unknown signing key")

// minRSABits rejects toy RSA keys an issuer might publish by mistake.
const minRSABits = 2048

// newJWKS loads the external issuer's keys: from a file once, and/or from a
// URL with a background refresh. The returned cancel stops the refresh.
func newJWKS(opts TokenOptions) (keyfunc.Keyfunc, context.CancelFunc, error) {
	if opts.JWKSURL != "" && opts.JWKSFile != "" {
		return nil, nil, errors.New("set JWKS URL or JWKS file, not both")
	}
	if opts.JWKSFile != "" {
		raw, err := os.ReadFile(opts.JWKSFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read JWKS file: %w", err)
		}
		kf, err := keyfunc.NewJWKSetJSON(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("parse JWKS file %s: %w", opts.JWKSFile, err)
		}
		if err := requireKeys(kf); err != nil {
			return nil, nil, fmt.Errorf("JWKS file %s: %w", opts.JWKSFile, err)
		}
		return kf, func() {}, nil
	}
	if err := checkJWKSURL(opts.JWKSURL); err != nil {
		return nil, nil, err
	}
	parent := opts.Ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:   10 * time.Second,
			Transport: limitedBody{http.DefaultTransport},
			// A redirect must not downgrade the key source to plain http.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				return checkJWKSURL(req.URL.String())
			},
		}
	}
	refresh := opts.JWKSRefresh
	if refresh <= 0 {
		refresh = time.Hour
	}
	failFirst := false
	u := opts.JWKSURL
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{u}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &failFirst, // a bad URL must stop the relay at start
		RefreshInterval:           refresh,
		// An unknown kid triggers at most one refresh per 5 min (the
		// library default limiter); a request that finds the limiter empty
		// fails at once instead of queueing: the wait bound also bounds
		// the refresh itself, so it cannot be tiny.
		RateLimitWaitMax: 5 * time.Second,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				slog.WarnContext(ctx, "JWKS refresh failed; keeping the previous keys", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("load JWKS %s: %w", u, err)
	}
	return kf, cancel, nil
}

// checkJWKSURL insists on https: the key set decides who may read what, and
// a plain-http fetch lets anyone on the path substitute it. Loopback is
// exempt for tests and sidecars.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("JWKS URL %q: not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("JWKS URL %q: must be https (http only on loopback)", raw)
	}
	return fmt.Errorf("JWKS URL %q: scheme must be https", raw)
}

// maxJWKSBytes bounds a JWK Set response: real sets are a few KiB.
const maxJWKSBytes = 1 << 20

// limitedBody cuts JWKS responses at maxJWKSBytes; the JSON decoder then
// fails on the truncated set and the previous keys stay in use.
type limitedBody struct{ next http.RoundTripper }

func (l limitedBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxJWKSBytes), resp.Body}
	return resp, nil
}

func requireKeys(kf keyfunc.Keyfunc) error {
	keys, err := kf.Storage().KeyReadAll(context.Background())
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("no usable keys")
	}
	return nil
}

// publicKeyFor asks the JWKS for the token's key and keeps only keys whose
// type fits the token's algorithm (RSA >= 2048 bits for RS256, P-256 for
// ES256): a JWKS "oct" key or a key of the other family never verifies.
// ctx bounds an unknown-kid refresh done on behalf of this request.
func publicKeyFor(ctx context.Context, kf keyfunc.Keyfunc, t *jwt.Token) (any, error) {
	got, err := kf.KeyfuncCtx(ctx)(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
	}
	alg := t.Method.Alg()
	if set, ok := got.(jwt.VerificationKeySet); ok {
		var fit jwt.VerificationKeySet
		for _, k := range set.Keys {
			if keyFits(alg, k) {
				fit.Keys = append(fit.Keys, k)
			}
		}
		if len(fit.Keys) == 0 {
			return nil, errUnknownKey
		}
		return fit, nil
	}
	if !keyFits(alg, got) {
		return nil, errUnknownKey
	}
	return got, nil
}

func keyFits(alg string, k any) bool {
	switch alg {
	case jwt.SigningMethodRS256.Alg():
		pk, ok := k.(*rsa.PublicKey)
		return ok && pk.N.BitLen() >= minRSABits
	case jwt.SigningMethodES256.Alg():
		pk, ok := k.(*ecdsa.PublicKey)
		return ok && pk.Curve == elliptic.P256()
	}
	return false
}
