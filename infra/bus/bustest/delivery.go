package bustest

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// Delivery semantics: order, ids, several topics, resume, truncation,
// unsubscribe.

func testOrderPerTopic(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	c, _ := subscribe(t, b, []string{"order:1"}, nil)
	var want []event.ID
	for i := range 20 { // singles
		want = append(want, publishN(t, b, "order:1", i, 1)...)
	}
	want = append(want, publishN(t, b, "order:1", 20, 30)...) // one batch
	ds := wait(t, c, 50)
	sameIDs(t, "live deliveries", deliveredIDs(ds), want)
	for i, d := range ds {
		if got := dataI(t, d); got != i {
			t.Fatalf("delivery %d carries i=%d", i, got)
		}
	}
}

var idForm = regexp.MustCompile(`^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$`)

func testIDs(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	c, _ := subscribe(t, b, []string{"ids:a", "ids:b"}, nil)
	start := time.Now()
	var msgs []bus.Message
	for i := range 200 {
		msgs = append(msgs, msg([]string{"ids:a", "ids:b"}[i%2], i))
	}
	ps, err := b.Publish(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	perTopic := map[string][]event.ID{}
	for i, p := range ps {
		if !idForm.MatchString(p.Event.ID) {
			t.Fatalf("id %q is not of the form ms-seq", p.Event.ID)
		}
		if p.Duplicate || p.Event.Topic != msgs[i].Topic || p.Event.Type != msgs[i].Type || p.Event.Source != msgs[i].Source {
			t.Fatalf("published %d: %+v for %+v", i, p, msgs[i])
		}
		if p.Event.Time.IsZero() {
			t.Fatalf("published %d has no time", i)
		}
		id := mustID(t, p.Event.ID)
		if ms := time.UnixMilli(int64(id.MS)); ms.Before(start.Add(-time.Hour)) || ms.After(start.Add(time.Hour)) {
			t.Fatalf("id %v: ms part is not a clock reading near %v", id, start)
		}
		perTopic[p.Event.Topic] = append(perTopic[p.Event.Topic], id)
	}
	for topic, ids := range perTopic {
		increasing(t, topic, ids)
	}
	ds := wait(t, c, 200)
	got := byTopic(ds)
	for topic, ids := range perTopic {
		sameIDs(t, "delivered "+topic, deliveredIDs(got[topic]), ids)
	}
	// What Publish returns is what subscribers get.
	byID := make(map[string]event.Event, len(ps))
	for _, p := range ps {
		byID[p.Event.Topic+" "+p.Event.ID] = p.Event
	}
	for _, d := range ds {
		e, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		p := byID[d.Topic+" "+e.ID]
		if p.Type != e.Type || p.Source != e.Source || !p.Time.Equal(e.Time) || !jsonEqual(p.Data, e.Data) {
			t.Fatalf("published %+v, delivered %+v", p, e)
		}
	}
	// Absent data arrives as an empty object.
	empty, _ := subscribe(t, b, []string{"ids:empty"}, nil)
	if _, err := b.Publish(context.Background(), []bus.Message{{Topic: "ids:empty", Type: "t"}}); err != nil {
		t.Fatal(err)
	}
	e, err := wait(t, empty, 1)[0].Decode()
	if err != nil || string(e.Data) != "{}" {
		t.Fatalf("absent data delivered as %s, %v; want {}", e.Data, err)
	}
}

func testMultiTopic(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	a := publishN(t, b, "multi:a", 0, 3)
	var from event.Cursor
	from.Set("multi:a", a[0])
	from.Set("multi:other", a[0]) // not subscribed: ignored
	c, _ := subscribe(t, b, []string{"multi:a", "multi:b"}, from)
	// Replay happens before Subscribe returns.
	if got := deliveredIDs(c.Deliveries()); !slices.Equal(got, a[1:]) {
		t.Fatalf("replay before Subscribe returned: got %v, want %v", got, a[1:])
	}
	publishN(t, b, "multi:c", 0, 1) // not subscribed
	bb := publishN(t, b, "multi:b", 0, 2)
	a = append(a, publishN(t, b, "multi:a", 3, 2)...)
	got := byTopic(wait(t, c, 2+2+2))
	sameIDs(t, "multi:a", deliveredIDs(got["multi:a"]), a[1:])
	sameIDs(t, "multi:b", deliveredIDs(got["multi:b"]), bb)
	if len(got["multi:c"]) > 0 || len(got) != 2 {
		t.Fatalf("delivered topics %v, want multi:a and multi:b only", len(got))
	}
	if tr := c.Truncations(); len(tr) > 0 {
		t.Fatalf("unexpected truncation %v", tr)
	}
}

func testResume(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	ids := publishN(t, b, "resume", 0, 10)
	cases := []struct {
		name string
		pos  event.ID
		want []event.ID
	}{
		{"from the middle", ids[3], ids[4:]},
		{"from the last", ids[9], nil},
		{"from 0-0 with full history", event.ID{}, ids},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := subscribe(t, b, []string{"resume"}, event.Cursor{{Topic: "resume", ID: tc.pos}})
			sameIDs(t, "replay", deliveredIDs(c.Deliveries()), tc.want)
			if tr := c.Truncations(); len(tr) > 0 {
				t.Fatalf("unexpected truncation %v", tr)
			}
		})
	}
	// Live events follow the replay without gap or duplicate.
	c, _ := subscribe(t, b, []string{"resume"}, event.Cursor{{Topic: "resume", ID: ids[6]}})
	more := publishN(t, b, "resume", 10, 3)
	ds := wait(t, c, 6)
	sameIDs(t, "replay then live", deliveredIDs(ds), append(slices.Clone(ids[7:]), more...))
	// A subscription without a position starts live; one at the last id
	// gets the next event with no truncation notice.
	live, _ := subscribe(t, b, []string{"resume"}, nil)
	atLast, _ := subscribe(t, b, []string{"resume"}, event.Cursor{{Topic: "resume", ID: more[2]}})
	last := publishN(t, b, "resume", 13, 1)
	sameIDs(t, "live only", deliveredIDs(wait(t, live, 1)), last)
	sameIDs(t, "from the last id", deliveredIDs(wait(t, atLast, 1)), last)
	if tr := atLast.Truncations(); len(tr) > 0 {
		t.Fatalf("unexpected truncation %v", tr)
	}
}

// testResumeLostHistory: a cursor whose events the bus no longer has at all
// (expired, or a restart without persistence): nothing to replay, and the
// first live event of the topic comes after a Truncated notice, because it
// does not follow the cursor's id.
func testResumeLostHistory(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	lost := event.ID{MS: 1_600_000_000_000, Seq: 5} // from an earlier life
	c, _ := subscribe(t, b, []string{"lost"}, event.Cursor{{Topic: "lost", ID: lost}})
	if n := len(c.Log()); n != 0 {
		t.Fatalf("%d handler calls before any event", n)
	}
	ids := publishN(t, b, "lost", 0, 2)
	sameIDs(t, "after lost history", deliveredIDs(wait(t, c, 2)), ids)
	log := c.Log()
	if !log[0].Truncated || log[0].Topic != "lost" || len(c.Truncations()) != 1 {
		t.Fatalf("handler calls %+v, want Truncated(lost) then the events", log)
	}
}

// testResumeTruncated publishes far more than HistoryLen so that even an
// approximate trim (Redis MAXLEN ~, whole 100-entry nodes) drops the start.
func testResumeTruncated(t *testing.T, newBus NewBus) {
	const historyLen = 10
	b := newBus(t, bus.Options{HistoryLen: historyLen})
	ids := publishN(t, b, "trunc", 0, 250)
	keep := publishN(t, b, "trunc:kept", 0, 3)
	page, err := b.History(context.Background(), "trunc", ids[0].String(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !page.Truncated {
		t.Fatal("History after a trimmed id: Truncated = false")
	}
	retained := deliveredIDs(page.Events)
	if len(retained) < historyLen || len(retained) >= len(ids)-1 {
		t.Fatalf("History retained %d of %d events with HistoryLen %d", len(retained), len(ids), historyLen)
	}
	sameIDs(t, "retained history", retained, ids[len(ids)-len(retained):])

	var from event.Cursor
	from.Set("trunc", ids[0])
	from.Set("trunc:kept", keep[0])
	c, _ := subscribe(t, b, []string{"trunc", "trunc:kept"}, from)
	live := publishN(t, b, "trunc", 250, 2)
	ds := wait(t, c, len(retained)+2+2)
	got := byTopic(ds)
	sameIDs(t, "trunc after truncation", deliveredIDs(got["trunc"]), append(slices.Clone(retained), live...))
	sameIDs(t, "trunc:kept", deliveredIDs(got["trunc:kept"]), keep[1:])
	// Truncated("trunc") comes before the first event of trunc, and only once.
	var seen []string
	for _, e := range c.Log() {
		if e.Topic != "trunc" {
			continue
		}
		if e.Truncated {
			seen = append(seen, "T")
		} else if len(seen) == 0 || seen[len(seen)-1] != "E" {
			seen = append(seen, "E")
		}
	}
	if !slices.Equal(seen, []string{"T", "E"}) {
		t.Fatalf("trunc call sequence %v, want Truncated then events", seen)
	}
	if tr := c.Truncations(); !slices.Equal(tr, []string{"trunc"}) {
		t.Fatalf("truncations %v, want [trunc]", tr)
	}
}

func testUnsubscribe(t *testing.T, newBus NewBus) {
	b := newBus(t, bus.Options{})
	c, sub := subscribe(t, b, []string{"unsub:a", "unsub:b"}, nil)
	publishN(t, b, "unsub:a", 0, 1)
	wait(t, c, 1)
	sub.Close()
	sub.Close() // idempotent
	// A second subscriber is the barrier: once it has the events, the bus
	// has dispatched them to every subscription it still had.
	barrier, _ := subscribe(t, b, []string{"unsub:a", "unsub:b"}, nil)
	publishN(t, b, "unsub:a", 1, 3)
	publishN(t, b, "unsub:b", 0, 3)
	wait(t, barrier, 6)
	if n := c.Len(); n != 1 {
		t.Fatalf("closed subscription got %d deliveries, want 1", n)
	}
}
