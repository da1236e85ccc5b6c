// Package presence is the relay's side of presence (who is online in a
// topic): it counts this node's subscribers per topic and subject (several
// tabs of one subject count once), syncs them with the shared store
// (infra/presence) in one batched call per interval, and sends the
// changes every node recorded to this node's watchers, coalesced per
// interval and encoded once per topic.
//
// Presence is on only for topics matching the configured patterns. A
// subscriber whose credentials have a subject joins when its subscription
// is ready and leaves when it unsubscribes or disconnects. Watchers are the
// subscribers who asked for presence updates; they get a snapshot first,
// then updates (docs/protocol.md, "Presence").
package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// Options configure a Tracker. Zero values mean the defaults.
type Options struct {
	// Topics are the patterns presence is on for ("room:*", exact topics,
	// "*"; auth.Match syntax). Empty: presence is off everywhere.
	Topics []string
	// Interval is how often this node syncs with the store and sends
	// updates (default 1 s).
	Interval time.Duration
	// MaxMembers: above this many members a topic is count-only. Must be
	// the store's.
	MaxMembers int
	// Node names this relay in the store (default: random per process, so
	// a restarted relay never inherits a dead one's members).
	Node       string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// DefaultInterval is the sync interval when Options.Interval is zero.
const DefaultInterval = time.Second

// ErrDisabled: presence is not on for the topic.
var ErrDisabled = errors.New("presence is not enabled for this topic")

// Tracker is one node's presence. It is safe for concurrent use.
type Tracker struct {
	store presence.Store
	o     Options
	log   *slog.Logger
	m     *metrics

	mu      sync.Mutex
	topics  map[string]*topicState
	clients map[*hub.Client]map[string]*membership

	stop chan struct{}
	done chan struct{}
}

// membership is one client's part in one topic.
type membership struct {
	sub   string // "" when the client is not a member (no subject)
	watch bool
}

// local is one subject on this node in one topic.
type local struct {
	conns int
	name  string
}

// topicState is this node's view of one topic.
type topicState struct {
	local map[string]*local    // subjects held here, by connection count
	sent  map[string]struct{}  // subjects the store holds for this node
	dirty map[string]struct{}  // subjects whose local and sent may differ
	watch map[*hub.Client]bool // watchers; true = waiting for a snapshot
	pos   string               // change log position ("" = not reading)
	count int
	// countOnly: the last sync found more than MaxMembers.
	countOnly bool
	// resync: every watcher gets a snapshot after the next sync (a gap
	// in the log, or the topic left count-only mode).
	resync bool
}

// New returns a tracker on store; Run starts its sync loop.
func New(store presence.Store, o Options) (*Tracker, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = presence.DefaultMaxMembers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, p := range o.Topics {
		if err := auth.ValidateGrant(p); err != nil {
			return nil, fmt.Errorf("presence topic pattern %q: %w", p, err)
		}
	}
	if o.Node == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("presence node id: %w", err)
		}
		o.Node = "n" + hex.EncodeToString(b[:])
	}
	if err := presence.ValidateNode(o.Node); err != nil {
		return nil, err
	}
	return &Tracker{
		store:   store,
		o:       o,
		log:     o.Logger,
		m:       newMetrics(o.Registerer),
		topics:  make(map[string]*topicState),
		clients: make(map[*hub.Client]map[string]*membership),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}, nil
}

// Node is this relay's id in the store.
func (t *Tracker) Node() string { return t.o.Node }

// Enabled reports whether presence is on for topic.
func (t *Tracker) Enabled(topic string) bool {
	if t == nil {
		return false
	}
	for _, p := range t.o.Topics {
		if auth.Match(p, topic) {
			return true
		}
	}
	return false
}

// Join makes c, whose subscription to topics is ready, a member of those
// with presence on (when sub is not empty) and, with watch, a watcher. Call
// it after the subscription succeeded; a client that closed meanwhile is
// let go at once.
func (t *Tracker) Join(c *hub.Client, topics []string, m presence.Member, watch bool) {
	if t == nil {
		return
	}
	if m.Sub != "" && presence.ValidateMember(m) != nil {
		m = presence.Member{} // a subject the store refuses watches only
	}
	t.mu.Lock()
	for _, topic := range topics {
		if t.Enabled(topic) {
			t.joinLocked(c, topic, m, watch)
		}
	}
	t.mu.Unlock()
	select {
	case <-c.Done():
		// The hub's OnClose may have run before we registered.
		t.Forget(c)
	default:
	}
}

func (t *Tracker) joinLocked(c *hub.Client, topic string, m presence.Member, watch bool) {
	ms := t.clients[c]
	if ms == nil {
		ms = make(map[string]*membership)
		t.clients[c] = ms
	}
	if ms[topic] != nil {
		return // already in (a repeated subscribe was refused by the hub)
	}
	if m.Sub == "" && !watch {
		return
	}
	ms[topic] = &membership{sub: m.Sub, watch: watch}
	ts := t.topicLocked(topic)
	if watch {
		ts.watch[c] = true
	}
	if m.Sub == "" {
		return
	}
	l := ts.local[m.Sub]
	if l == nil {
		l = &local{name: m.Name}
		ts.local[m.Sub] = l
		ts.dirty[m.Sub] = struct{}{}
	}
	l.conns++
}

func (t *Tracker) topicLocked(topic string) *topicState {
	ts := t.topics[topic]
	if ts == nil {
		ts = &topicState{
			local: make(map[string]*local),
			sent:  make(map[string]struct{}),
			dirty: make(map[string]struct{}),
			watch: make(map[*hub.Client]bool),
		}
		t.topics[topic] = ts
		t.m.topics.Inc()
	}
	return ts
}

// Leave lets c go from topics (it unsubscribed).
func (t *Tracker) Leave(c *hub.Client, topics []string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := t.clients[c]
	if ms == nil {
		return
	}
	for _, topic := range topics {
		t.leaveLocked(c, ms, topic)
	}
	if len(ms) == 0 {
		delete(t.clients, c)
	}
}

// Forget lets c go from every topic (its connection closed); it is the
// hub's OnClose.
func (t *Tracker) Forget(c *hub.Client) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := t.clients[c]
	for topic := range ms {
		t.leaveLocked(c, ms, topic)
	}
	delete(t.clients, c)
}

func (t *Tracker) leaveLocked(c *hub.Client, ms map[string]*membership, topic string) {
	m := ms[topic]
	if m == nil {
		return
	}
	delete(ms, topic)
	ts := t.topics[topic]
	if ts == nil {
		return
	}
	delete(ts.watch, c)
	if m.sub == "" {
		return
	}
	if l := ts.local[m.sub]; l != nil {
		l.conns--
		if l.conns <= 0 {
			delete(ts.local, m.sub)
			ts.dirty[m.sub] = struct{}{}
		}
	}
}

// Members is one page of topic's members (GET /v1/topics/{t}/presence).
func (t *Tracker) Members(ctx context.Context, topic, after string, limit int) (presence.Page, error) {
	if !t.Enabled(topic) {
		return presence.Page{}, ErrDisabled
	}
	p, err := t.store.Members(ctx, topic, after, limit)
	if err != nil {
		return presence.Page{}, fmt.Errorf("presence of %s: %w", topic, err)
	}
	return p, nil
}
