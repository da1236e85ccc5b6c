package ws_test

import (
	"testing"

	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// TestKickStormLosesNothing: with a queue of 2, concurrent publishers on
// three topics kick the subscribers over and over; every subscriber still
// ends with every event of its topics exactly once, in order per topic.
func TestKickStormLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	e := newEnv(t, hub.Options{QueueSize: 2}, ws.Options{})
	streamtest.KickStorm(t, e.Env, client.WebSocket)
}
