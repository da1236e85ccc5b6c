package ws_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// L3 (security review 2026-12): a client that starts a message (a first
// fragment, FIN=0) and then sends only pongs was kept open forever, each
// pong moving the read deadline, with up to ws_read_limit buffered. The
// message must now be complete within MessageTimeout whatever the pongs.
func TestIncompleteMessageClosedDespitePongs(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{Ping: time.Hour, PongWait: time.Hour, MessageTimeout: 300 * time.Millisecond})
	c := dial(t, e, nil)
	first := clientFrame(websocket.TextMessage, `{"op":"subscribe",`)
	first[0] &^= 0x80 // FIN=0: more fragments follow
	if _, err := c.UnderlyingConn().Write(first); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for e.Hub.Connections() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("an incomplete message kept alive by pongs is still open after 10 s")
		}
		<-tick.C
		// Errors are expected once the relay closed the connection.
		_, _ = c.UnderlyingConn().Write(clientFrame(websocket.PongMessage, ""))
	}
}
