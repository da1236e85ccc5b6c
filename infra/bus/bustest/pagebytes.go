package bustest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// testHistoryPageBytes: a history page stops at HistoryPageBytes (H2 of the
// 2026-12 review: pages were bounded in events only, so one request of
// 1000 x 64 KiB events built a 64 MB reply). Paging on with the last id
// reaches every event exactly once; a latest page keeps the newest events.
func testHistoryPageBytes(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{HistoryPageBytes: 40 << 10})
	ctx := context.Background()
	const n = 20
	msgs := make([]bus.Message, n)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: "big:1", Type: "t", Data: json.RawMessage(`"` + strings.Repeat("x", 10<<10) + `"`)}
	}
	ps, err := b.Publish(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	// A forward walk from the start.
	var got []string
	after := ps[0].Event.ID
	got = append(got, after)
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		page, err := b.History(ctx, "big:1", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 4 {
			t.Fatalf("page of %d events of 10 KiB with a 40 KiB bound", len(page.Events))
		}
		for _, d := range page.Events {
			got = append(got, d.ID.String())
			after = d.ID.String()
		}
		if !page.More {
			break
		}
		if len(page.Events) == 0 {
			t.Fatal("More set on an empty page")
		}
	}
	if len(got) != n {
		t.Fatalf("paging returned %d events; want %d", len(got), n)
	}
	for i, p := range ps {
		if got[i] != p.Event.ID {
			t.Fatalf("event %d = %s; want %s", i, got[i], p.Event.ID)
		}
	}
	latest, err := b.History(ctx, "big:1", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !latest.More || len(latest.Events) == 0 || len(latest.Events) > 4 || latest.Events[len(latest.Events)-1].ID.String() != ps[n-1].Event.ID {
		t.Fatalf("latest page: %d events, more %v; want the newest few, more", len(latest.Events), latest.More)
	}
	// An event larger than the bound still comes, alone.
	huge := bus.Message{Topic: "big:2", Type: "t", Data: json.RawMessage(`"` + strings.Repeat("y", 50<<10) + `"`)}
	if _, err := b.Publish(ctx, []bus.Message{huge, huge}); err != nil {
		t.Fatal(err)
	}
	page, err := b.History(ctx, "big:2", "", 10)
	if err != nil || len(page.Events) != 1 || !page.More {
		t.Fatalf("page of events above the bound: %d events, more %v, %v; want 1, more", len(page.Events), page.More, err)
	}
}
