package redis

import (
	"context"
	"testing"

	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// The largest id is a valid position (ParseID accepts it) that nothing can
// follow. Redis refuses an exclusive XRANGE start at it, which once turned
// history, unread and resume from it into a permanent bus_unavailable.
func TestPositionAtMaxID(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	publishN(t, b, "order:1", 0, 2)

	page, err := b.History(ctx, "order:1", maxStreamID, 10)
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("history after the max id = %d events, %v; want none, no error", len(page.Events), err)
	}
	if err := b.SetRead(ctx, "u1", "order:1", maxStreamID); err != nil {
		t.Fatalf("set read to the max id: %v", err)
	}
	u, err := b.Unread(ctx, "u1", "order:1")
	if err != nil || u.Count != 0 || u.ReadID != maxStreamID {
		t.Fatalf("unread after reading the max id = %+v, %v; want 0 and the max id", u, err)
	}

	max, err := event.ParseID(maxStreamID)
	if err != nil {
		t.Fatal(err)
	}
	var cur event.Cursor
	cur.Set("order:1", max)
	// Subscribing from it works (it used to fail with ErrUnavailable). Ids
	// come from the clock, so a position this far ahead only hides events
	// from the client that forged it; nothing else is affected.
	sub, err := b.Subscribe(ctx, []string{"order:1"}, cur, newRecorder())
	if err != nil {
		t.Fatalf("subscribe from the max id: %v", err)
	}
	sub.Close()
}
