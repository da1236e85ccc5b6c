package bustest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// Stored state: dedup, history, read cursors, validation, lifecycle.

func testDedup(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ctx := context.Background()
	c, _ := subscribe(t, b, []string{"dedup"}, nil)
	first := bus.Message{Topic: "dedup", Type: "t", Data: json.RawMessage(`{"v":1}`), IdempotencyKey: "stripe:evt_1"}
	again := first
	again.Data = json.RawMessage(`{"v":2}`)
	other := first
	other.Topic = "dedup:other"
	ps, err := b.Publish(ctx, []bus.Message{first, again})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Duplicate || !ps[1].Duplicate {
		t.Fatalf("Duplicate flags %v %v, want false true", ps[0].Duplicate, ps[1].Duplicate)
	}
	ps2, err := b.Publish(ctx, []bus.Message{again, other})
	if err != nil {
		t.Fatal(err)
	}
	for _, dup := range []bus.Published{ps[1], ps2[0]} {
		if !dup.Duplicate || dup.Event.ID != ps[0].Event.ID || dup.Event.Topic != "dedup" || !jsonEqual(dup.Event.Data, first.Data) {
			t.Fatalf("duplicate publish returned %+v, want the original %+v", dup, ps[0])
		}
	}
	if ps2[1].Duplicate {
		t.Fatal("the same key on another topic was treated as a duplicate")
	}
	page, err := b.History(ctx, "dedup", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].ID.String() != ps[0].Event.ID {
		t.Fatalf("history holds %d events, want only the original", len(page.Events))
	}
	// Live subscribers got the original only; the barrier event proves the
	// duplicates would have arrived by now.
	barrier := publishN(t, b, "dedup", 0, 1)
	ds := wait(t, c, 2)
	sameIDs(t, "live", deliveredIDs(ds), []event.ID{mustID(t, ps[0].Event.ID), barrier[0]})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

func testContextCancelled(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Publish(ctx, []bus.Message{msg("ctx", 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context: err = %v", err)
	}
	if _, err := b.Subscribe(ctx, []string{"ctx"}, nil, NewCollector()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe with a cancelled context: err = %v", err)
	}
	if _, err := b.History(ctx, "ctx", "", 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("History with a cancelled context: err = %v", err)
	}
	if err := b.SetRead(ctx, "r", "ctx", "1-0"); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetRead with a cancelled context: err = %v", err)
	}
	if _, err := b.Unread(ctx, "r", "ctx"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Unread with a cancelled context: err = %v", err)
	}
	page, err := b.History(context.Background(), "ctx", "", 10)
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("after a cancelled publish: %d events, err %v; want none", len(page.Events), err)
	}
	u, err := b.Unread(context.Background(), "r", "ctx")
	if err != nil || u.ReadID != "" {
		t.Fatalf("after a cancelled SetRead: %+v, %v", u, err)
	}
}

func testHistory(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ctx := context.Background()
	page, err := b.History(ctx, "hist:none", "", 10)
	if err != nil || len(page.Events) != 0 || page.Truncated {
		t.Fatalf("history of an unknown topic: %+v, %v", page, err)
	}
	ids := publishN(t, b, "hist", 0, 10)
	cases := []struct {
		name  string
		after string
		limit int
		want  []event.ID
	}{
		{"latest 3", "", 3, ids[7:]},
		{"latest all", "", 100, ids},
		{"after 2, limit 4", ids[2].String(), 4, ids[3:7]},
		{"after 2, limit 100", ids[2].String(), 100, ids[3:]},
		{"after the last", ids[9].String(), 10, nil},
		{"after 0-0", "0-0", 100, ids},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.History(ctx, "hist", tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if page.Truncated {
				t.Fatal("Truncated = true with nothing trimmed")
			}
			sameIDs(t, "history", deliveredIDs(page.Events), tc.want)
			for _, d := range page.Events {
				if d.Topic != "hist" {
					t.Fatalf("delivery topic %q", d.Topic)
				}
				dataI(t, d) // decodes, id and topic match the envelope
			}
		})
	}
	if _, err := b.History(ctx, "bad topic", "", 1); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("bad topic: err = %v, want ErrInvalid", err)
	}
	if _, err := b.History(ctx, "hist", "x-1", 1); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("bad after: err = %v, want ErrInvalid", err)
	}
}

func testReadCursors(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ctx := context.Background()
	unread := func(reader string) bus.UnreadCount {
		t.Helper()
		u, err := b.Unread(ctx, reader, "inbox:1")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	setRead := func(reader string, id event.ID) {
		t.Helper()
		if err := b.SetRead(ctx, reader, "inbox:1", id.String()); err != nil {
			t.Fatal(err)
		}
	}
	if u := unread("ann"); u != (bus.UnreadCount{}) {
		t.Fatalf("unread of an empty topic: %+v", u)
	}
	ids := publishN(t, b, "inbox:1", 0, 5)
	last := ids[4].String()
	check := func(reader string, want bus.UnreadCount) {
		t.Helper()
		if u := unread(reader); u != want {
			t.Fatalf("unread(%s) = %+v, want %+v", reader, u, want)
		}
	}
	check("ann", bus.UnreadCount{Count: 5, LastID: last})
	setRead("ann", ids[1])
	check("ann", bus.UnreadCount{Count: 3, ReadID: ids[1].String(), LastID: last})
	setRead("ann", ids[0]) // backwards: ignored
	check("ann", bus.UnreadCount{Count: 3, ReadID: ids[1].String(), LastID: last})
	check("bob", bus.UnreadCount{Count: 5, LastID: last})
	setRead("ann", ids[4])
	check("ann", bus.UnreadCount{Count: 0, ReadID: last, LastID: last})
	more := publishN(t, b, "inbox:1", 5, 2)
	check("ann", bus.UnreadCount{Count: 2, ReadID: last, LastID: more[1].String()})

	if err := b.SetRead(ctx, "ann", "inbox:1", "nope"); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("bad id: err = %v, want ErrInvalid", err)
	}
	if err := b.SetRead(ctx, "ann", "in box", last); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("bad topic: err = %v, want ErrInvalid", err)
	}
	if _, err := b.Unread(ctx, "ann", ""); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("bad topic: err = %v, want ErrInvalid", err)
	}
}

func testUnreadCapped(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{HistoryLen: 2 * bus.MaxUnread})
	ids := publishN(t, b, "busy", 0, bus.MaxUnread+1)
	u, err := b.Unread(context.Background(), "r", "busy")
	if err != nil {
		t.Fatal(err)
	}
	want := bus.UnreadCount{Count: bus.MaxUnread, Capped: true, LastID: ids[len(ids)-1].String()}
	if u != want {
		t.Fatalf("unread = %+v, want %+v", u, want)
	}
	if err := b.SetRead(context.Background(), "r", "busy", ids[1].String()); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.Unread(context.Background(), "r", "busy"); u.Count != bus.MaxUnread-1 || u.Capped {
		t.Fatalf("unread after reading 2 = %+v, want %d uncapped", u, bus.MaxUnread-1)
	}
}

func testInvalid(t *testing.T, newBus NewBus) {
	const limit = 1024
	b := newBus(t, bus.Options{MaxEventBytes: limit})
	ctx := context.Background()
	big := bus.Message{Topic: "size", Type: "t", Data: json.RawMessage(`"` + strings.Repeat("x", 2*limit) + `"`)}
	cases := map[string]bus.Message{
		"too big":    big,
		"bad topic":  {Topic: "a b", Type: "t"},
		"empty type": {Topic: "size", Type: ""},
		"bad data":   {Topic: "size", Type: "t", Data: json.RawMessage(`{`)},
	}
	for name, m := range cases {
		if _, err := b.Publish(ctx, []bus.Message{m}); !errors.Is(err, bus.ErrInvalid) {
			t.Fatalf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	_, err := b.Publish(ctx, []bus.Message{big})
	if !strings.Contains(err.Error(), "1024") {
		t.Fatalf("size error %q does not name the limit", err)
	}
	page, err := b.History(ctx, "size", "", 10)
	if err != nil || len(page.Events) != 0 {
		t.Fatalf("invalid messages were stored: %d events, %v", len(page.Events), err)
	}
	ok := bus.Message{Topic: "size", Type: "t", Data: json.RawMessage(`"` + strings.Repeat("x", limit/2) + `"`)}
	if _, err := b.Publish(ctx, []bus.Message{ok}); err != nil {
		t.Fatalf("a message under the limit: %v", err)
	}
}

func testClosed(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ctx := context.Background()
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	c, _ := subscribe(t, b, []string{"closing"}, nil)
	publishN(t, b, "closing", 0, 1)
	wait(t, c, 1)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := b.Publish(ctx, []bus.Message{msg("closing", 1)}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close: err = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, []string{"closing"}, nil, NewCollector()); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close: err = %v, want ErrClosed", err)
	}
	if err := b.Ready(ctx); err == nil {
		t.Fatal("Ready after Close: nil error")
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("subscription got %d deliveries after Close, want 1", n)
	}
}
