package sse

import (
	"fmt"
	"net/url"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/presence"
)

// parseWatch reads ?presence=: "1" or "true" asks for presence updates of
// the stream's presence topics; absent, "0" or "false" does not.
func parseWatch(q url.Values) (bool, error) {
	switch v := q.Get("presence"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("presence: want 1 or 0, got %q", truncate(v))
	}
}

// member is who the credentials say the subscriber is: the token's
// subject and name claim, never anything the client sent.
func member(g *auth.Grants) presence.Member {
	return presence.Member{Sub: g.Subject, Name: g.Name}
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
