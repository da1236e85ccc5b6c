// Package presencetest is the conformance suite every presence.Store runs:
//
//	func TestConformance(t *testing.T) {
//		presencetest.Run(t, func(t *testing.T, o presence.Options) presence.Store { ... })
//	}
//
// newStore returns a fresh, empty store (Redis: a unique key prefix) built
// with o; several calls in one subtest must share state (they are the
// relays of one deployment), so a subtest calls it once and uses node ids.
package presencetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/presence"
)

// Waiting bounds every wait in the suite; pollEvery paces the polls.
const (
	Waiting   = 10 * time.Second
	pollEvery = 10 * time.Millisecond
)

// NewStore builds a fresh store for a subtest.
type NewStore func(t *testing.T, o presence.Options) presence.Store

// Run runs the suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewStore)
	}{
		{"JoinLeaveSeenByOtherNode", testJoinLeave},
		{"SubjectOnTwoNodesCountsOnce", testTwoNodes},
		{"DeadNodeLeavesOnce", testDeadNode},
		{"LostNodeIsTold", testLost},
		{"CountOnly", testCountOnly},
		{"Pages", testPages},
		{"Gap", testGap},
		{"LogAge", testLogAge},
		{"Invalid", testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

// reader follows one topic's change log the way a relay does.
type reader struct {
	t     *testing.T
	s     presence.Store
	node  string
	topic string
	pos   string
	count int
	gap   bool
	got   []presence.Change
}

func newReader(t *testing.T, s presence.Store, node, topic string) *reader {
	r := &reader{t: t, s: s, node: node, topic: topic}
	r.sync(presence.SyncRequest{})
	return r
}

// sync sends req (its Topic and After are filled in) and records changes.
func (r *reader) sync(req presence.SyncRequest) presence.SyncResult {
	r.t.Helper()
	req.Topic, req.After = r.topic, r.pos
	res := syncOne(r.t, r.s, r.node, req)
	r.pos, r.count = res.Pos, res.Count
	r.gap = r.gap || res.Gap
	r.got = append(r.got, res.Changes...)
	return res
}

func syncOne(t *testing.T, s presence.Store, node string, req presence.SyncRequest) presence.SyncResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Waiting)
	defer cancel()
	res, err := s.Sync(ctx, node, []presence.SyncRequest{req})
	if err != nil {
		t.Fatalf("sync %s as %s: %v", req.Topic, node, err)
	}
	if len(res) != 1 {
		t.Fatalf("sync returned %d results for 1 request", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("sync %s as %s: %v", req.Topic, node, res[0].Err)
	}
	return res[0]
}

func members(t *testing.T, s presence.Store, topic string) presence.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Waiting)
	defer cancel()
	p, err := s.Members(ctx, topic, "", presence.MaxPageLimit)
	if err != nil {
		t.Fatalf("members %s: %v", topic, err)
	}
	return p
}

func describe(cs []presence.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		if c.Join {
			out[i] = "+" + c.Member.Sub + "/" + c.Member.Name
		} else {
			out[i] = "-" + c.Member.Sub
		}
	}
	return out
}

func testJoinLeave(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{})
	const topic = "room:lobby"
	b := newReader(t, s, "node-b", topic)
	a := newReader(t, s, "node-a", topic)
	a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "alice", Name: "Alice A."}, {Sub: "bob"}}})
	b.sync(presence.SyncRequest{})
	if got, want := describe(b.got), []string{"+alice/Alice A.", "+bob/"}; !slices.Equal(got, want) {
		t.Fatalf("node b saw %q, want %q", got, want)
	}
	if b.count != 2 {
		t.Errorf("count = %d, want 2", b.count)
	}
	p := members(t, s, topic)
	if p.Count != 2 || len(p.Members) != 2 || p.Members[0] != (presence.Member{Sub: "alice", Name: "Alice A."}) || p.Members[1].Sub != "bob" || p.CountOnly || p.Next != "" {
		t.Errorf("members = %+v, want alice (Alice A.) and bob, count 2", p)
	}
	a.sync(presence.SyncRequest{Leave: []string{"bob", "nobody"}, Join: []presence.Member{{Sub: "alice"}}})
	b.got = nil
	b.sync(presence.SyncRequest{})
	if got, want := describe(b.got), []string{"-bob"}; !slices.Equal(got, want) {
		t.Errorf("after bob left, node b saw %q, want %q (a second join of alice is no change)", got, want)
	}
	if b.count != 1 {
		t.Errorf("count = %d, want 1", b.count)
	}
	if p := members(t, s, "room:empty"); p.Count != 0 || len(p.Members) != 0 || p.Members == nil {
		t.Errorf("members of an unknown topic = %+v, want count 0 and an empty list", p)
	}
}

func testTwoNodes(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{})
	const topic = "room:tabs"
	w := newReader(t, s, "watcher", topic)
	a := newReader(t, s, "node-a", topic)
	b := newReader(t, s, "node-b", topic)
	a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "carol"}}})
	b.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "carol"}}})
	a.sync(presence.SyncRequest{Leave: []string{"carol"}, Held: true})
	w.sync(presence.SyncRequest{})
	if got, want := describe(w.got), []string{"+carol/"}; !slices.Equal(got, want) {
		t.Fatalf("carol on two nodes, one let go: saw %q, want %q", got, want)
	}
	if w.count != 1 {
		t.Errorf("count = %d, want 1", w.count)
	}
	b.sync(presence.SyncRequest{Leave: []string{"carol"}, Held: true})
	w.sync(presence.SyncRequest{})
	if got, want := describe(w.got), []string{"+carol/", "-carol"}; !slices.Equal(got, want) {
		t.Errorf("both let go: saw %q, want %q", got, want)
	}
}

// testDeadNode: a node with members stops syncing; two watchers keep
// syncing; every member leaves, and the log holds each leave once, with a
// small expire batch so the removal spans several calls.
func testDeadNode(t *testing.T, ns NewStore) {
	const ttl = 300 * time.Millisecond
	s := ns(t, presence.Options{TTL: ttl, ExpireBatch: 7})
	const topic = "room:crash"
	w1 := newReader(t, s, "watcher-1", topic)
	w2 := newReader(t, s, "watcher-2", topic)
	dead := newReader(t, s, "dead", topic)
	alive := newReader(t, s, "alive", topic)
	var join []presence.Member
	const n = 40
	for i := range n {
		join = append(join, presence.Member{Sub: fmt.Sprintf("user-%02d", i)})
	}
	dead.sync(presence.SyncRequest{Join: join})
	alive.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "user-00"}, {Sub: "survivor"}}})
	deadline := time.Now().Add(Waiting)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for w1.count != 2 || w2.count != 2 {
		<-tick.C
		if time.Now().After(deadline) {
			t.Fatalf("counts %d and %d after %s, want 2 (user-00 and survivor stay on the live node)", w1.count, w2.count, Waiting)
		}
		w1.sync(presence.SyncRequest{})
		w2.sync(presence.SyncRequest{})
		alive.sync(presence.SyncRequest{Held: true})
	}
	for _, w := range []*reader{w1, w2} {
		leaves := map[string]int{}
		for _, c := range w.got {
			if !c.Join {
				leaves[c.Member.Sub]++
			}
		}
		if len(leaves) != n-1 {
			t.Errorf("%s saw %d subjects leave, want %d", w.node, len(leaves), n-1)
		}
		for sub, k := range leaves {
			if k != 1 || sub == "user-00" || sub == "survivor" {
				t.Errorf("%s saw %s leave %d times", w.node, sub, k)
			}
		}
	}
}

func testLost(t *testing.T, ns NewStore) {
	const ttl = 200 * time.Millisecond
	s := ns(t, presence.Options{TTL: ttl})
	const topic = "room:partition"
	a := newReader(t, s, "node-a", topic)
	w := newReader(t, s, "watcher", topic)
	a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "dave"}}})
	if res := a.sync(presence.SyncRequest{Held: true}); res.Lost {
		t.Fatal("a live node was told it was lost")
	}
	deadline := time.Now().Add(Waiting)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for w.count != 0 || len(w.got) < 2 {
		<-tick.C
		if time.Now().After(deadline) {
			t.Fatalf("dave still counted (%d) after %s", w.count, Waiting)
		}
		w.sync(presence.SyncRequest{})
	}
	if res := a.sync(presence.SyncRequest{Held: true}); !res.Lost {
		t.Error("a node expired by others was not told it was lost")
	}
}

func testCountOnly(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{MaxMembers: 3})
	const topic = "room:big"
	w := newReader(t, s, "watcher", topic)
	a := newReader(t, s, "node-a", topic)
	for i := range 5 {
		a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: fmt.Sprintf("u%d", i)}}})
	}
	w.sync(presence.SyncRequest{})
	if got, want := describe(w.got), []string{"+u0/", "+u1/", "+u2/"}; !slices.Equal(got, want) {
		t.Errorf("log = %q, want only the joins up to 3 members %q", got, want)
	}
	if w.count != 5 {
		t.Errorf("count = %d, want 5", w.count)
	}
	p := members(t, s, topic)
	if !p.CountOnly || p.Count != 5 || len(p.Members) != 0 {
		t.Errorf("members = %+v, want count-only with count 5", p)
	}
	a.sync(presence.SyncRequest{Leave: []string{"u4", "u3"}})
	if p := members(t, s, topic); p.CountOnly || p.Count != 3 || len(p.Members) != 3 {
		t.Errorf("back at 3 members: %+v, want the list", p)
	}
}

func testPages(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{})
	const topic = "room:pages"
	var join []presence.Member
	for i := range 25 {
		join = append(join, presence.Member{Sub: fmt.Sprintf("m%02d", i), Name: fmt.Sprintf("Member %d", i)})
	}
	syncOne(t, s, "node-a", presence.SyncRequest{Topic: topic, Join: join})
	var got []presence.Member
	after := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 10 for 25 members")
		}
		p, err := s.Members(context.Background(), topic, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Count != 25 {
			t.Errorf("count = %d, want 25", p.Count)
		}
		got = append(got, p.Members...)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if !slices.Equal(got, join) {
		t.Errorf("pages = %v, want %v", got, join)
	}
}

// testGap: a reader that falls further behind than the log keeps is told.
func testGap(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{LogLen: 10})
	const topic = "room:gap"
	w := newReader(t, s, "watcher", topic)
	a := newReader(t, s, "node-a", topic)
	// Redis trims MAXLEN ~ by whole stream nodes (100 entries), so many.
	for i := range 30 {
		var join []presence.Member
		for j := range 10 {
			join = append(join, presence.Member{Sub: fmt.Sprintf("g%d-%d", i, j)})
		}
		a.sync(presence.SyncRequest{Join: join})
	}
	w.sync(presence.SyncRequest{})
	if !w.gap {
		t.Errorf("a reader 300 changes behind a log of 10 was not told of the gap (saw %d changes)", len(w.got))
	}
	w.gap = false
	a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: "late"}}})
	w.sync(presence.SyncRequest{})
	if w.gap {
		t.Error("gap reported again for a reader that caught up")
	}
}

// testLogAge: changes older than LogAge leave the log (a reader that far
// behind is told of the gap), so a busy room's log does not grow with
// the room's age.
func testLogAge(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{LogAge: 100 * time.Millisecond})
	const topic = "room:age"
	w := newReader(t, s, "watcher", topic)
	a := newReader(t, s, "node-a", topic)
	for i := range 3 {
		var join []presence.Member
		for j := range 100 {
			join = append(join, presence.Member{Sub: fmt.Sprintf("a%d-%d", i, j)})
		}
		a.sync(presence.SyncRequest{Join: join})
	}
	deadline := time.Now().Add(Waiting)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		<-tick.C
		// Trimming happens when the log is written.
		a.sync(presence.SyncRequest{Join: []presence.Member{{Sub: fmt.Sprintf("late-%d", i)}}})
		probe := syncOne(t, s, "watcher", presence.SyncRequest{Topic: topic, After: w.pos})
		if probe.Gap {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("300 changes older than a LogAge of 100ms still in the log after %s", Waiting)
		}
	}
}

func testInvalid(t *testing.T, ns NewStore) {
	s := ns(t, presence.Options{})
	ctx := context.Background()
	if _, err := s.Sync(ctx, "bad node}", nil); !errors.Is(err, presence.ErrInvalid) {
		t.Errorf("node id with a brace: %v, want ErrInvalid", err)
	}
	for _, req := range []presence.SyncRequest{
		{Topic: "room:x", Join: []presence.Member{{Sub: "a\nb"}}},
		{Topic: "room:x", Join: []presence.Member{{Sub: ""}}},
		{Topic: "room:x", Join: []presence.Member{{Sub: "ok", Name: string(make([]byte, presence.MaxNameBytes+1))}}},
		{Topic: "room:x", Leave: []string{"\x00"}},
		{Topic: "room:x", After: "not-a-position"},
	} {
		res, err := s.Sync(ctx, "node-a", []presence.SyncRequest{req, {Topic: "room:ok"}})
		if err != nil {
			t.Fatalf("sync %+v: %v", req, err)
		}
		if !errors.Is(res[0].Err, presence.ErrInvalid) {
			t.Errorf("sync %+v: err %v, want ErrInvalid", req, res[0].Err)
		}
		if res[1].Err != nil {
			t.Errorf("a bad request spoiled the good one next to it: %v", res[1].Err)
		}
	}
	if p := members(t, s, "room:x"); p.Count != 0 {
		t.Errorf("a refused request changed the topic: %+v", p)
	}
}
