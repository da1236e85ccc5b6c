// Package memory is the one-process presence store (`relay dev` without
// Redis). It keeps the same model as the Redis store: node heartbeats with
// a deadline, per-subject node counts, a bounded change log per topic.
// Positions are decimal sequence numbers, unique across the store, so a
// topic forgotten and recreated never reuses one.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hookrelay/hookrelay/infra/presence"
)

var _ presence.Store = (*Store)(nil)

// Store is the memory presence store. It is safe for concurrent use.
type Store struct {
	o   presence.Options
	now func() time.Time

	mu        sync.Mutex
	topics    map[string]*topic
	seq       uint64 // last position handed out, store-wide
	lastSweep time.Time
	closed    bool
	// at is the time of the call in progress (under mu), for the log.
	at time.Time
}

type topic struct {
	nodes   map[string]*node
	refs    map[string]int    // subject -> nodes holding it
	names   map[string]string // subject -> display name
	log     []entry
	trimmed uint64 // highest position dropped from log
	touched time.Time
}

type node struct {
	deadline time.Time
	subs     map[string]struct{}
}

type entry struct {
	pos uint64
	at  time.Time
	c   presence.Change
}

// New returns an empty store.
func New(o presence.Options) *Store {
	return &Store{o: o.WithDefaults(), now: time.Now, topics: make(map[string]*topic)}
}

// Close makes later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Sync implements presence.Store.
func (s *Store) Sync(ctx context.Context, node string, reqs []presence.SyncRequest) ([]presence.SyncResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("presence sync: %w", err)
	}
	if err := presence.ValidateNode(node); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("presence sync: closed: %w", presence.ErrUnavailable)
	}
	now := s.now()
	s.at = now
	s.sweep(now)
	out := make([]presence.SyncResult, len(reqs))
	for i, r := range reqs {
		out[i] = s.syncOne(now, node, r)
	}
	return out, nil
}

func (s *Store) syncOne(now time.Time, nodeID string, r presence.SyncRequest) presence.SyncResult {
	res := presence.SyncResult{Topic: r.Topic}
	if err := checkRequest(r); err != nil {
		res.Err = err
		return res
	}
	after, err := parsePos(r.After)
	if err != nil {
		res.Err = err
		return res
	}
	t := s.topic(r.Topic, now)
	if r.Held {
		if n, ok := t.nodes[nodeID]; !ok || !n.deadline.After(now) {
			res.Lost = true
		}
	}
	s.expire(t, now)
	n := t.nodes[nodeID]
	if n == nil {
		n = &node{subs: make(map[string]struct{})}
		t.nodes[nodeID] = n
	}
	for _, sub := range r.Leave {
		s.leave(t, n, sub)
	}
	for _, m := range r.Join {
		s.join(t, n, m)
	}
	if len(n.subs) == 0 {
		delete(t.nodes, nodeID)
	} else {
		n.deadline = now.Add(s.o.TTL)
	}
	res.Count = len(t.refs)
	s.read(t, r.After == "", after, &res)
	return res
}

func checkRequest(r presence.SyncRequest) error {
	for _, m := range r.Join {
		if err := presence.ValidateMember(m); err != nil {
			return err
		}
	}
	for _, sub := range r.Leave {
		if err := presence.ValidateSub(sub); err != nil {
			return err
		}
	}
	return nil
}

func parsePos(p string) (uint64, error) {
	if p == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: position %q is not one this store issued", presence.ErrInvalid, p)
	}
	return n, nil
}

func (s *Store) topic(name string, now time.Time) *topic {
	t := s.topics[name]
	if t == nil {
		t = &topic{nodes: make(map[string]*node), refs: make(map[string]int), names: make(map[string]string)}
		s.topics[name] = t
	}
	t.touched = now
	return t
}

// expire removes the members of nodes whose deadline passed (up to
// ExpireBatch of them per call, like the Redis store).
func (s *Store) expire(t *topic, now time.Time) {
	budget := s.o.ExpireBatch
	for id, n := range t.nodes {
		if n.deadline.After(now) {
			continue
		}
		for sub := range n.subs {
			if budget == 0 {
				return
			}
			budget--
			s.leave(t, n, sub)
		}
		delete(t.nodes, id)
	}
}

func (s *Store) join(t *topic, n *node, m presence.Member) {
	if _, ok := n.subs[m.Sub]; ok {
		return
	}
	n.subs[m.Sub] = struct{}{}
	t.refs[m.Sub]++
	if t.refs[m.Sub] > 1 {
		return
	}
	t.names[m.Sub] = m.Name
	s.record(t, presence.Change{Join: true, Member: m})
}

func (s *Store) leave(t *topic, n *node, sub string) {
	if _, ok := n.subs[sub]; !ok {
		return
	}
	delete(n.subs, sub)
	t.refs[sub]--
	if t.refs[sub] > 0 {
		return
	}
	delete(t.refs, sub)
	delete(t.names, sub)
	s.record(t, presence.Change{Member: presence.Member{Sub: sub}})
}

// record logs a change unless the topic is count-only.
func (s *Store) record(t *topic, c presence.Change) {
	if len(t.refs) > s.o.MaxMembers {
		return
	}
	s.seq++
	t.log = append(t.log, entry{pos: s.seq, at: s.at, c: c})
	over := len(t.log) - s.o.LogLen
	for over < len(t.log) && s.at.Sub(t.log[max(over, 0)].at) > s.o.LogAge {
		over = max(over, 0) + 1
	}
	if over > 0 {
		t.trimmed = t.log[over-1].pos
		t.log = slices.Delete(t.log, 0, over)
	}
}

// read fills res with the changes after after (or, for a first read, only
// the current position).
func (s *Store) read(t *topic, first bool, after uint64, res *presence.SyncResult) {
	if first {
		res.Pos = strconv.FormatUint(s.seq, 10)
		return
	}
	// A position above every one handed out comes from another store
	// (the process restarted): the reader missed everything.
	res.Gap = after < t.trimmed || after > s.seq
	i := sort.Search(len(t.log), func(i int) bool { return t.log[i].pos > after })
	end := min(len(t.log), i+s.o.ReadLimit)
	for _, e := range t.log[i:end] {
		res.Changes = append(res.Changes, e.c)
		after = e.pos
	}
	if res.Gap && end == len(t.log) {
		after = s.seq
	}
	res.Pos = strconv.FormatUint(after, 10)
}

// sweep forgets topics nobody touched for two TTLs (no node, no reader).
func (s *Store) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < s.o.TTL {
		return
	}
	s.lastSweep = now
	for name, t := range s.topics {
		if now.Sub(t.touched) > 2*s.o.TTL {
			delete(s.topics, name)
		}
	}
}

// Members implements presence.Store.
func (s *Store) Members(ctx context.Context, topicName, after string, limit int) (presence.Page, error) {
	if err := ctx.Err(); err != nil {
		return presence.Page{}, fmt.Errorf("presence members: %w", err)
	}
	limit = max(1, min(limit, presence.MaxPageLimit))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return presence.Page{}, fmt.Errorf("presence members: closed: %w", presence.ErrUnavailable)
	}
	t := s.topics[topicName]
	if t == nil {
		return presence.Page{Members: []presence.Member{}}, nil
	}
	s.at = s.now()
	s.expire(t, s.at)
	p := presence.Page{Count: len(t.refs), Members: []presence.Member{}}
	if p.Count > s.o.MaxMembers {
		p.CountOnly = true
		return p, nil
	}
	subs := make([]string, 0, len(t.refs))
	for sub := range t.refs {
		if sub > after {
			subs = append(subs, sub)
		}
	}
	slices.Sort(subs)
	if len(subs) > limit {
		subs = subs[:limit]
		p.Next = subs[limit-1]
	}
	for _, sub := range subs {
		p.Members = append(p.Members, presence.Member{Sub: sub, Name: t.names[sub]})
	}
	return p, nil
}
