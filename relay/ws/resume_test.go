package ws_test

import (
	"testing"

	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/internal/streamtest"
	"github.com/hookrelay/hookrelay/relay/ws"
)

// TestResumeCoversWhatWasReceived: every events and subscribed frame
// carries the connection's cursor after it ("resume"), so a client that
// keeps the last one it received holds one cursor covering every topic,
// at what it has actually received. The subscribe-time cursor did not: a
// client resuming with it got events 1-3 again (issue 17, F3).
func TestResumeCoversWhatWasReceived(t *testing.T) {
	e := newEnv(t, hub.Options{}, ws.Options{})
	c := dial(t, e, nil)
	send(t, c, `{"op":"subscribe","ref":"1","topics":["r:a","r:b"]}`)
	ack := read(t, c)
	if ack.Op != "subscribed" || ack.Resume == "" || ack.Resume != ack.Cursor {
		t.Fatalf("ack %+v: want resume = cursor when all topics are subscribed at once", ack)
	}
	got := e.Publish(t, "r:a", 2, `{}`)
	got = append(got, e.Publish(t, "r:b", 1, `{}`)...)
	resume := ""
	for n := 0; n < len(got); {
		f := read(t, c)
		if f.Op != "events" || f.Resume == "" {
			t.Fatalf("want an events frame with resume, got %+v", f)
		}
		n += len(f.Events)
		resume = f.Resume
	}
	// A topic added later: its ack's resume covers it and the earlier ones.
	send(t, c, `{"op":"subscribe","ref":"2","topics":["r:c"]}`)
	if ack := read(t, c); ack.Op != "subscribed" || ack.Resume == resume || ack.Resume == ack.Cursor {
		t.Fatalf("second ack %+v: want a resume covering r:a, r:b and r:c", ack)
	} else {
		resume = ack.Resume
	}
	c.Close()

	missed := e.Publish(t, "r:a", 1, `{}`)
	missed = append(missed, e.Publish(t, "r:b", 1, `{}`)...)
	missed = append(missed, e.Publish(t, "r:c", 2, `{}`)...)
	c2 := dial(t, e, nil)
	send(t, c2, `{"op":"subscribe","ref":"1","topics":["r:a","r:b","r:c"],"cursor":"`+resume+`"}`)
	streamtest.SameEvents(t, readEvents(t, c2, len(missed)), missed)
	if f := read(t, c2); f.Op != "subscribed" {
		t.Fatalf("after the replay: %+v, want only the ack (nothing twice)", f)
	}
}
