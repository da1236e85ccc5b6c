package sse_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// BenchmarkFanout publishes one event per op to N SSE streams over loopback
// and waits until every stream has read it. Client readers share the two
// cores with the relay, so this is a lower bound of the relay's rate.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			e := newEnv(b, hub.Options{}, sse.Options{Heartbeat: time.Hour})
			var total, target atomic.Int64
			reached := make(chan struct{}, 1)
			conns := make([]net.Conn, 0, n)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			ready := make(chan struct{}, n)
			for range n {
				c, err := net.Dial("tcp", e.Srv.Listener.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "GET /v1/sse?topic=fan:1 HTTP/1.1\r\nHost: relay\r\n\r\n")
				go func() {
					br := bufio.NewReaderSize(c, 4096)
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						switch {
						case bytes.HasPrefix(line, []byte("data: {\"id\"")):
							v := total.Add(1)
							if t := target.Load(); v == t {
								reached <- struct{}{}
							}
						case bytes.HasPrefix(line, []byte("event: ready")):
							ready <- struct{}{}
						}
					}
				}()
			}
			e.MeasureFanout(b, n, "fan:1", ready, reached, &target)
		})
	}
}
