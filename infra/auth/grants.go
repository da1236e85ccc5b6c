// Package auth decides who may read and write which topics: subscriber and
// publisher tokens (JWT) with topic grants, publish API keys and the origin
// allowlist.
package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Grants is what an authenticated caller may do. Patterns are exact topic
// names or "prefix:*" (any topic starting with "prefix:"), with "{sub}"
// already expanded to Subject. "*" alone matches every topic.
type Grants struct {
	Subject string
	// Name is the token's display name claim ("" if none): what presence
	// shows for this subject. Clients never choose it.
	Name      string
	Subscribe []string
	Publish   []string
	// ExpiresAt is when the credential expires; zero means it does not
	// (API keys, dev mode). Open connections are closed at this time.
	ExpiresAt time.Time
}

// CanSubscribe reports whether the grants allow reading topic.
func (g *Grants) CanSubscribe(topic string) bool { return g != nil && matchAny(g.Subscribe, topic) }

// CanPublish reports whether the grants allow publishing to topic.
func (g *Grants) CanPublish(topic string) bool { return g != nil && matchAny(g.Publish, topic) }

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if Match(p, topic) {
			return true
		}
	}
	return false
}

// Match reports whether a grant pattern covers topic.
func Match(pattern, topic string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		// Only whole segments: "order:*" matches "order:1" but not "orders".
		return strings.HasSuffix(prefix, ":") && strings.HasPrefix(topic, prefix) && len(topic) > len(prefix)
	}
	return pattern == topic
}

// Authenticator turns a request's credentials (Authorization: Bearer, the
// token cookie, or ?token=) into grants.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*Grants, error)
}

// Errors an Authenticator returns (wrapped); the relay maps them to answers:
// ErrNoCredentials and ErrInvalidToken -> 401, ErrExpired -> 401 / WS 4001.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrInvalidToken  = errors.New("invalid token")
	ErrExpired       = errors.New("token expired")
)

// TokenVerifier checks a bare token string (the WebSocket "auth" frame
// refreshes grants this way) and returns its grants.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Grants, error)
}

// AllowAll is the development authenticator used when no token key is
// configured: every caller may subscribe and publish to every topic. Only
// `relay dev` wires it (and says so in its banner); `relay serve` refuses to
// start without a token key.
type AllowAll struct{}

var (
	_ Authenticator = AllowAll{}
	_ TokenVerifier = AllowAll{}
)

func anonymousGrants() *Grants {
	return &Grants{Subject: "anonymous", Subscribe: []string{"*"}, Publish: []string{"*"}}
}

// Authenticate grants everything to everyone.
func (AllowAll) Authenticate(context.Context, *http.Request) (*Grants, error) {
	return anonymousGrants(), nil
}

// Verify grants everything to everyone, whatever the token.
func (AllowAll) Verify(context.Context, string) (*Grants, error) { return anonymousGrants(), nil }

// maxSourceLen is event.MaxSourceLen (auth does not import event for one
// number; the relay's tests pin the two together through publishing).
const maxSourceLen = 100

// Source is the event source the relay stamps on whatever a token holder
// publishes: "token:<sub>". Subscribers can then tell who sent an event,
// and a token with a publish grant cannot pose as a webhook sender
// ("stripe") or as another user. A subject that is not printable ASCII or
// does not fit gives plain "token".
func (g *Grants) Source() string {
	const prefix = "token:"
	if g == nil || g.Subject == "" || len(prefix)+len(g.Subject) > maxSourceLen {
		return "token"
	}
	for i := 0; i < len(g.Subject); i++ {
		if c := g.Subject[i]; c < 0x21 || c > 0x7e {
			return "token"
		}
	}
	return prefix + g.Subject
}
