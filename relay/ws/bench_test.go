package ws_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// BenchmarkFanout publishes one event per op to N WebSockets over loopback
// and waits until every one has read it (relay/sse has the same for SSE).
// Client readers share the two cores with the relay, so this is a lower
// bound of the relay's rate. allocs/op include one per delivery made by
// the test's gorilla readers.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			e := newEnv(b, hub.Options{}, ws.Options{Ping: time.Hour})
			var total, target atomic.Int64
			reached := make(chan struct{}, 1)
			ready := make(chan struct{}, n)
			url := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/v1/ws"
			for range n {
				c, _, err := websocket.DefaultDialer.Dial(url, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","ref":"1","topics":["fan:1"]}`)); err != nil {
					b.Fatal(err)
				}
				go func() {
					// A reused buffer: ReadMessage's per-message allocation
					// would hide the relay's in allocs/op (gorilla still
					// allocates one small reader per message).
					var buf bytes.Buffer
					for {
						_, r, err := c.NextReader()
						if err != nil {
							return
						}
						buf.Reset()
						if _, err := buf.ReadFrom(r); err != nil {
							return
						}
						msg := buf.Bytes()
						switch {
						case bytes.HasPrefix(msg, []byte(`{"op":"events"`)):
							v := total.Add(int64(bytes.Count(msg, []byte(`"topic":"fan:1"`))))
							if t := target.Load(); v == t {
								reached <- struct{}{}
							}
						case bytes.HasPrefix(msg, []byte(`{"op":"subscribed"`)):
							ready <- struct{}{}
						}
					}
				}()
			}
			e.MeasureFanout(b, n, "fan:1", ready, reached, &target)
		})
	}
}
