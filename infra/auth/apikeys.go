package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
)

// APIKey is a named publish key (HOOKRELAY_API_KEYS "name:key").
type APIKey struct {
	Name, Key string
}

// APIKeys checks server-to-server publish keys. Only SHA-256 digests are
// kept, and every presented key is compared against every stored digest in
// constant time, so neither timing nor key length tells which key is near.
type APIKeys struct {
	names   []string
	digests [][sha256.Size]byte
}

var _ Authenticator = (*APIKeys)(nil)

// NewAPIKeys validates keys: names and keys non-empty, names unique, keys
// unique (one key under two names would make the name ambiguous). An empty
// list is valid and accepts nothing.
func NewAPIKeys(keys []APIKey) (*APIKeys, error) {
	a := &APIKeys{}
	names := make(map[string]bool, len(keys))
	digests := make(map[[sha256.Size]byte]bool, len(keys))
	for i, k := range keys {
		switch {
		case k.Name == "":
			return nil, fmt.Errorf("api key %d: empty name", i+1)
		case k.Key == "":
			return nil, fmt.Errorf("api key %q: empty key", k.Name)
		case names[k.Name]:
			return nil, fmt.Errorf("api key %q: duplicate name", k.Name)
		}
		d := sha256.Sum256([]byte(k.Key))
		if digests[d] {
			return nil, fmt.Errorf("api key %q: same key as another name", k.Name)
		}
		names[k.Name], digests[d] = true, true
		a.names = append(a.names, k.Name)
		a.digests = append(a.digests, d)
	}
	return a, nil
}

// Len is the number of configured keys.
func (a *APIKeys) Len() int {
	if a == nil {
		return 0
	}
	return len(a.names)
}

// Names returns the configured key names (a copy).
func (a *APIKeys) Names() []string {
	if a == nil {
		return nil
	}
	return append([]string(nil), a.names...)
}

// Check returns the name of the key the request presents in
// "Authorization: Bearer <key>" or "X-API-Key: <key>".
func (a *APIKeys) Check(r *http.Request) (name string, ok bool) {
	if a == nil || len(a.digests) == 0 {
		return "", false
	}
	if t, found := Bearer(r); found {
		if name, ok := a.match(t); ok {
			return name, true
		}
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		return a.match(k)
	}
	return "", false
}

func (a *APIKeys) match(presented string) (string, bool) {
	d := sha256.Sum256([]byte(presented))
	found := -1
	// No early exit: the time taken does not depend on which key matched.
	for i := range a.digests {
		if subtle.ConstantTimeCompare(d[:], a.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return a.names[found], true
}

// APIKeySubjectPrefix marks grants that came from an API key, e.g.
// "apikey:ci", so logs and read cursors never mix them with token subjects.
const APIKeySubjectPrefix = "apikey:"

// TokenSubjectPrefix keys a token subject's publish bucket and scopes its
// idempotency keys, so a token whose sub is "apikey:ci" cannot drain API
// key ci's bucket (L2 of the 2026-12 review).
const TokenSubjectPrefix = "token:"

// Authenticate gives the holder of any configured key publish rights on
// every topic (and no subscribe rights: keys are for backends, and a leaked
// key should not also expose every stream).
func (a *APIKeys) Authenticate(_ context.Context, r *http.Request) (*Grants, error) {
	name, ok := a.Check(r)
	if !ok {
		if _, hasBearer := Bearer(r); !hasBearer && r.Header.Get("X-API-Key") == "" {
			return nil, ErrNoCredentials
		}
		return nil, fmt.Errorf("%w: unknown API key", ErrInvalidToken)
	}
	return &Grants{Subject: APIKeySubjectPrefix + name, Publish: []string{"*"}}, nil
}
