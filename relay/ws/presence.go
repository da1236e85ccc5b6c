package ws

import (
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/presence"
)

// member is who the credentials say the subscriber is: the token's
// subject and name claim, never anything the client sent.
func member(g *auth.Grants) presence.Member {
	return presence.Member{Sub: g.Subject, Name: g.Name}
}

// presenceFrame turns a presence update ({"topic":...}, shared by every
// watcher) into the WS frame {"op":"presence","topic":...}.
func presenceFrame(js []byte) []byte {
	const head = `{"op":"presence",`
	if len(js) < 2 || js[0] != '{' {
		return []byte(`{"op":"presence"}`)
	}
	b := make([]byte, 0, len(head)+len(js)-1)
	b = append(b, head...)
	return append(b, js[1:]...)
}
