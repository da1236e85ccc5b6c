package ws_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// clientFrame encodes one masked client frame (RFC 6455 5.2), so a test
// can put several frames into one TCP write.
func clientFrame(op byte, payload string) []byte {
	if len(payload) > 125 {
		panic("test frames are short")
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b := []byte{0x80 | op, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i := 0; i < len(payload); i++ {
		b = append(b, payload[i]^key[i&3])
	}
	return b
}

// The reader consumes pings and pongs between messages itself (reader.go):
// pipelined with a request in one segment, each is answered or counted and
// the request is still handled; split frames still work.
func TestPipelinedControlAndDataFrames(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{Ping: time.Hour})
	c := dial(t, e, nil)
	pongs := make(chan string, 4)
	c.SetPongHandler(func(p string) error { pongs <- p; return nil })
	var seg []byte
	seg = append(seg, clientFrame(websocket.PongMessage, "")...)
	seg = append(seg, clientFrame(websocket.PingMessage, "p1")...)
	seg = append(seg, clientFrame(websocket.TextMessage, `{"op":"subscribe","ref":"1","topics":["a:1"]}`)...)
	seg = append(seg, clientFrame(websocket.PingMessage, "p2")...)
	if _, err := c.UnderlyingConn().Write(seg); err != nil {
		t.Fatal(err)
	}
	if f := read(t, c); f.Op != "subscribed" || f.Ref != "1" {
		t.Fatalf("got %+v, want subscribed ack", f)
	}
	// A frame split over two writes (two segments: Go sets TCP_NODELAY).
	sub := clientFrame(websocket.TextMessage, `{"op":"subscribe","ref":"2","topics":["a:2"]}`)
	if _, err := c.UnderlyingConn().Write(sub[:7]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UnderlyingConn().Write(sub[7:]); err != nil {
		t.Fatal(err)
	}
	if f := read(t, c); f.Op != "subscribed" || f.Ref != "2" {
		t.Fatalf("got %+v, want subscribed ack 2", f)
	}
	for _, want := range []string{"p1", "p2"} {
		select {
		case got := <-pongs:
			if got != want {
				t.Fatalf("pong %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no pong %q", want)
		}
	}
	ids := e.Publish(t, "a:1", 1, `{}`)
	streamtest.SameEvents(t, readEvents(t, c, 1), ids)
}

// Pongs consumed by the parked reader still move the read deadline: a
// client answering pings outlives several pong waits.
func TestPongsKeepIdleConnectionOpen(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{Ping: time.Hour, PongWait: time.Second})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["a:1"]}`)
	if f := read(t, c); f.Op != "subscribed" {
		t.Fatalf("ack %+v", f)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range 25 { // 2.5 pong waits; margin for a loaded machine
		<-tick.C
		if _, err := c.UnderlyingConn().Write(clientFrame(websocket.PongMessage, "")); err != nil {
			t.Fatal(err)
		}
	}
	ids := e.Publish(t, "a:1", 1, `{}`)
	streamtest.SameEvents(t, readEvents(t, c, 1), ids)
	// Without pongs the deadline ends it.
	streamtest.WaitFor(t, "the silent connection to be closed", func() bool { return e.Hub.Connections() == 0 })
}
