package ws_test

import (
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// Events frames are built by the sink itself (rawframe.go): every length
// encoding (7-bit, 16-bit, 64-bit) must reach a standard client intact.
func TestRawEventsFrameLengths(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	// {} events make frames under 126 bytes; 3 replayed 30 KB events one
	// over 64 KiB.
	for _, size := range []int{0, 200, 30000} {
		data := `{}`
		if size > 0 {
			data = `{"pad":"` + strings.Repeat("x", size) + `"}`
		}
		ids := e.Publish(t, "big:1", 4, data)
		c := dial(t, e, nil)
		send(t, c, `{"op":"subscribe","ref":"1","topics":["big:1"],"cursor":"`+strings.TrimPrefix(ids[0], "big:1/")+`"}`)
		streamtest.SameEvents(t, readEvents(t, c, 3), ids[1:])
		if ack := read(t, c); ack.Op != "subscribed" {
			t.Fatalf("size %d: ack %+v", size, ack)
		}
		live := e.Publish(t, "big:1", 1, data)
		streamtest.SameEvents(t, readEvents(t, c, 1), live)
	}
}
