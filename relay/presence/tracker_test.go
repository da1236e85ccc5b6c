package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	busmemory "github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/infra/presence/memory"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// waiting bounds every wait of these tests.
const waiting = 10 * time.Second

// recSink is a connection that keeps the presence updates written to it.
type recSink struct {
	mu     sync.Mutex
	frames []update
	wake   chan struct{}
}

// update is a presence frame as a client decodes it.
type update struct {
	Topic     string            `json:"topic"`
	Count     int               `json:"count"`
	CountOnly bool              `json:"count_only"`
	Members   []presence.Member `json:"members"`
	Join      []presence.Member `json:"join"`
	Leave     []string          `json:"leave"`
}

func newRecSink() *recSink { return &recSink{wake: make(chan struct{}, 1)} }

func (s *recSink) Write(_ *hub.Client, items []hub.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if it.Kind != hub.KindPresence {
			continue
		}
		var u update
		if err := json.Unmarshal(it.JSON, &u); err != nil {
			return fmt.Errorf("presence frame %s: %w", it.JSON, err)
		}
		s.frames = append(s.frames, u)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}
func (s *recSink) Stalled() bool                 { return false }
func (s *recSink) Flush() error                  { return nil }
func (s *recSink) Close(*hub.Client, hub.Reason) {}

func (s *recSink) all() []update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames)
}

// node is one relay: a hub and its tracker on a shared store.
type node struct {
	t  *testing.T
	h  *hub.Hub
	tr *Tracker
}

func newNode(t *testing.T, store presence.Store, o Options) *node {
	t.Helper()
	n := &node{t: t}
	b := busmemory.New(bus.Options{})
	t.Cleanup(func() { _ = b.Close() }) // memory bus: nothing to report
	n.h = hub.New(b, hub.Options{OnClose: func(c *hub.Client) { n.tr.Forget(c) }})
	if o.Topics == nil {
		o.Topics = []string{"room:*"}
	}
	tr, err := New(store, o)
	if err != nil {
		t.Fatal(err)
	}
	n.tr = tr
	t.Cleanup(n.h.Close)
	return n
}

// connect admits a connection of sub on topic; watch asks for updates.
func (n *node) connect(topic, sub string, watch bool) (*hub.Client, *recSink) {
	n.t.Helper()
	s := newRecSink()
	c, err := n.h.Admit("test", s)
	if err != nil {
		n.t.Fatal(err)
	}
	n.tr.Join(c, []string{topic}, presence.Member{Sub: sub, Name: "Name of " + sub}, watch)
	return c, s
}

// closeConn closes c and waits until the hub let it go.
func closeConn(c *hub.Client) {
	c.Close()
	<-c.Done()
}

// syncUntil steps every node until cond holds over what s received.
func syncUntil(t *testing.T, nodes []*node, s *recSink, what string, cond func(members map[string]string, count int, countOnly bool) bool) {
	t.Helper()
	deadline := time.Now().Add(waiting)
	for {
		for _, n := range nodes {
			n.tr.Sync(context.Background())
		}
		m, count, countOnly := state(s.all())
		if cond(m, count, countOnly) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %s; state %v count %d count-only %v; frames %+v", what, waiting, m, count, countOnly, s.all())
		}
		select {
		case <-s.wake:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// state replays frames the way hookrelay.js does.
func state(frames []update) (map[string]string, int, bool) {
	m := map[string]string{}
	count, countOnly := 0, false
	for _, f := range frames {
		count, countOnly = f.Count, f.CountOnly
		if f.CountOnly {
			clear(m)
			continue
		}
		if f.Members != nil {
			clear(m)
			for _, x := range f.Members {
				m[x.Sub] = x.Name
			}
		}
		for _, x := range f.Join {
			m[x.Sub] = x.Name
		}
		for _, sub := range f.Leave {
			delete(m, sub)
		}
	}
	return m, count, countOnly
}

func has(subs ...string) func(map[string]string, int, bool) bool {
	return func(m map[string]string, count int, _ bool) bool {
		if len(m) != len(subs) || count != len(subs) {
			return false
		}
		for _, s := range subs {
			if _, ok := m[s]; !ok {
				return false
			}
		}
		return true
	}
}

// TestTwoNodesSeeEachOther: members on two relays see each other; a second
// tab of a subject changes nothing; the subject leaves with its last tab;
// a join and leave within one interval is never announced.
func TestTwoNodesSeeEachOther(t *testing.T) {
	store := memory.New(presence.Options{})
	a, b := newNode(t, store, Options{}), newNode(t, store, Options{})
	nodes := []*node{a, b}
	const room = "room:lobby"
	alice1, aliceSees := a.connect(room, "alice", true)
	_, bobSees := b.connect(room, "bob", true)
	syncUntil(t, nodes, aliceSees, "alice sees bob", has("alice", "bob"))
	syncUntil(t, nodes, bobSees, "bob sees alice", has("alice", "bob"))
	if m, _, _ := state(bobSees.all()); m["alice"] != "Name of alice" {
		t.Errorf("bob sees alice named %q, want the token's name", m["alice"])
	}

	// alice opens a second tab and closes the first: nobody is told.
	// carol joins and leaves on node b between two reads of node a: her
	// join and leave reach the store, and alice's update coalesces them
	// away. dave joining is the marker: frames are delivered in order, so
	// once alice sees dave she has seen everything before.
	alice2, _ := a.connect(room, "alice", false)
	closeConn(alice1)
	aliceWatch, aliceSees := a.connect(room, "alice", true)
	syncUntil(t, nodes, aliceSees, "alice's new tab sees alice and bob", has("alice", "bob"))
	before := len(aliceSees.all())
	carol, _ := b.connect(room, "carol", false)
	b.tr.Sync(context.Background())
	closeConn(carol)
	b.tr.Sync(context.Background())
	b.connect(room, "dave", false)
	b.tr.Sync(context.Background())
	syncUntil(t, nodes, aliceSees, "alice sees dave", has("alice", "bob", "dave"))
	for _, f := range aliceSees.all()[before:] {
		if len(f.Leave) > 0 || len(f.Members) > 0 || len(f.Join) != 1 || f.Join[0].Sub != "dave" {
			t.Errorf("after alice swapped tabs and carol came and went within an interval, alice got %+v; want only dave joining", f)
		}
	}
	if n := len(aliceSees.all()) - before; n != 1 {
		t.Errorf("alice got %d updates, want 1 (dave)", n)
	}
	// alice closes another tab; erin joining on b is the marker: bob
	// seeing erin with alice still there means alice was never let go.
	closeConn(alice2)
	b.connect(room, "erin", false)
	syncUntil(t, nodes, bobSees, "bob sees erin and still alice (her watching tab is open)", has("alice", "bob", "dave", "erin"))
	closeConn(aliceWatch)
	syncUntil(t, nodes, bobSees, "bob sees alice leave with her last tab", has("bob", "dave", "erin"))
}

// TestCountOnly: above MaxMembers watchers get the count only, and the
// list again (a snapshot) once the room is small.
func TestCountOnly(t *testing.T) {
	store := memory.New(presence.Options{MaxMembers: 3})
	a := newNode(t, store, Options{MaxMembers: 3})
	nodes := []*node{a}
	const room = "room:big"
	_, sees := a.connect(room, "w", true)
	var conns []*hub.Client
	for i := range 4 {
		c, _ := a.connect(room, fmt.Sprintf("m%d", i), false)
		conns = append(conns, c)
	}
	syncUntil(t, nodes, sees, "count-only with 5", func(m map[string]string, count int, countOnly bool) bool {
		return countOnly && count == 5 && len(m) == 0
	})
	for _, f := range sees.all() {
		if len(f.Join) > 0 || len(f.Leave) > 0 || (f.CountOnly && f.Members != nil) {
			t.Errorf("a count-only room sent members: %+v", f)
		}
	}
	closeConn(conns[0])
	closeConn(conns[1])
	syncUntil(t, nodes, sees, "the list again at 3", has("w", "m2", "m3"))
}

// TestJoinAfterClose: a subscription that completes after its connection
// closed leaves no member behind.
func TestJoinAfterClose(t *testing.T) {
	store := memory.New(presence.Options{})
	a := newNode(t, store, Options{})
	c, err := a.h.Admit("test", newRecSink())
	if err != nil {
		t.Fatal(err)
	}
	closeConn(c)
	a.tr.Join(c, []string{"room:x"}, presence.Member{Sub: "ghost"}, true)
	a.tr.Sync(context.Background())
	p, err := a.tr.Members(context.Background(), "room:x", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 0 {
		t.Errorf("a closed connection is a member: %+v", p)
	}
}

// TestDisabledTopics: presence is only on for the configured patterns.
func TestDisabledTopics(t *testing.T) {
	store := memory.New(presence.Options{})
	a := newNode(t, store, Options{Topics: []string{"room:*"}})
	if a.tr.Enabled("order:1") || !a.tr.Enabled("room:1") {
		t.Error("Enabled does not follow the patterns")
	}
	a.connect("order:1", "alice", true)
	a.tr.Sync(context.Background())
	if _, err := a.tr.Members(context.Background(), "order:1", "", 10); err != ErrDisabled {
		t.Errorf("members of a topic without presence: %v, want ErrDisabled", err)
	}
	if _, err := New(store, Options{Topics: []string{"room:**"}}); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

// TestCloseLeavesAtOnce: a tracker closing (drain) lets its members go
// without waiting for the TTL.
func TestCloseLeavesAtOnce(t *testing.T) {
	store := memory.New(presence.Options{TTL: time.Hour})
	a, b := newNode(t, store, Options{}), newNode(t, store, Options{})
	a.connect("room:1", "alice", false)
	_, sees := b.connect("room:1", "bob", true)
	syncUntil(t, []*node{a, b}, sees, "bob sees alice", has("alice", "bob"))
	ctx, cancel := context.WithTimeout(context.Background(), waiting)
	defer cancel()
	a.tr.Close(ctx, false)
	syncUntil(t, []*node{b}, sees, "alice gone after her relay closed", has("bob"))
}

// TestGapResync: a watcher whose relay fell behind the log gets a fresh
// snapshot instead of a partial update.
func TestGapResync(t *testing.T) {
	store := memory.New(presence.Options{LogLen: 10})
	a, b := newNode(t, store, Options{}), newNode(t, store, Options{})
	_, sees := a.connect("room:gap", "w", true)
	syncUntil(t, []*node{a}, sees, "w sees herself", has("w"))
	want := []string{"w"}
	for i := range 30 {
		sub := fmt.Sprintf("m%02d", i)
		b.connect("room:gap", sub, false)
		want = append(want, sub)
	}
	b.tr.Sync(context.Background()) // 30 joins: the log keeps 10
	syncUntil(t, []*node{a}, sees, "all 31 after the gap", has(want...))
	last := sees.all()[len(sees.all())-1]
	if last.Members == nil {
		t.Errorf("after a gap the watcher got %+v, want a snapshot", last)
	}
}
