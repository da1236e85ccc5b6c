// Package redis is the production presence store. Each topic's presence
// lives in keys with the topic's hash tag ("hr:{room:1}:p:z" and friends,
// see scripts.go), so every script touches one cluster slot. A node's
// Sync of all its topics is one pipeline of one script call per topic:
// expire dead nodes, apply the node's joins and leaves, renew its
// heartbeat, read the change log after the node's position.
//
// A Redis ACL user needs, besides the bus's: +@sortedset +@set +@hash
// +@stream +@scripting +time on keys ~<prefix>:*.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/presence"
)

var _ presence.Store = (*Store)(nil)

// DefaultPrefix starts every key (the bus's prefix).
const DefaultPrefix = "hr"

// Options configure the store.
type Options struct {
	presence.Options
	// Prefix starts every key. Default "hr".
	Prefix string
	// CloseClient closes the client in Close (when the store owns it).
	CloseClient bool
}

// Store is the Redis presence store. It is safe for concurrent use.
type Store struct {
	c       goredis.UniversalClient
	o       Options
	scripts scripts
}

// New returns a store on client (typically the bus's client, sharing its
// connection pool and credentials).
func New(client goredis.UniversalClient, o Options) *Store {
	o.Options = o.Options.WithDefaults()
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return &Store{c: client, o: o, scripts: newScripts()}
}

// Close closes the client if the store owns it.
func (s *Store) Close() error {
	if !s.o.CloseClient {
		return nil
	}
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("presence: close redis client: %w", err)
	}
	return nil
}

// keys returns a topic's five keys and its node set prefix.
func (s *Store) keys(topic string) ([]string, string) {
	base := s.o.Prefix + ":{" + topic + "}:p:"
	return []string{base + "z", base + "c", base + "i", base + "h", base + "l"}, base + "n:"
}

func (s *Store) common(nprefix string) []any {
	keyTTL := 2 * s.o.TTL.Milliseconds()
	return []any{nprefix, s.o.MaxMembers, s.o.LogLen, s.o.ExpireBatch, keyTTL, s.o.LogAge.Milliseconds()}
}

// Sync implements presence.Store: one pipeline, one script call per topic.
func (s *Store) Sync(ctx context.Context, node string, reqs []presence.SyncRequest) ([]presence.SyncResult, error) {
	if err := presence.ValidateNode(node); err != nil {
		return nil, err
	}
	out := make([]presence.SyncResult, len(reqs))
	args := make([][]any, len(reqs))
	keys := make([][]string, len(reqs))
	for i, r := range reqs {
		out[i].Topic = r.Topic
		a, k, err := s.syncArgs(node, r)
		if err != nil {
			out[i].Err = err
			continue
		}
		args[i], keys[i] = a, k
	}
	cmds, err := s.runPipeline(ctx, s.scripts.sync, keys, args)
	if err != nil {
		return nil, err
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if err := cmd.Err(); err != nil {
			out[i].Err = unavailable("sync "+reqs[i].Topic, err)
			continue
		}
		if err := parseSync(cmd.Val(), &out[i]); err != nil {
			out[i].Err = err
		}
	}
	return out, nil
}

func (s *Store) syncArgs(node string, r presence.SyncRequest) ([]any, []string, error) {
	if err := event.ValidateTopic(r.Topic); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", presence.ErrInvalid, err)
	}
	if r.After != "" {
		if _, err := event.ParseID(r.After); err != nil {
			return nil, nil, fmt.Errorf("%w: position %q: %v", presence.ErrInvalid, r.After, err)
		}
	}
	k, nprefix := s.keys(r.Topic)
	held := 0
	if r.Held {
		held = 1
	}
	a := append(s.common(nprefix), node, s.o.TTL.Milliseconds(), held, r.After, s.o.ReadLimit, len(r.Leave))
	for _, sub := range r.Leave {
		if err := presence.ValidateSub(sub); err != nil {
			return nil, nil, err
		}
		a = append(a, sub)
	}
	for _, m := range r.Join {
		if err := presence.ValidateMember(m); err != nil {
			return nil, nil, err
		}
		a = append(a, m.Sub, m.Name)
	}
	return a, k, nil
}

// runPipeline runs script once per non-nil args entry in one pipeline,
// loading the script and retrying once if Redis does not know it (a fresh
// or restarted server). cmds[i] is nil where args[i] is nil.
func (s *Store) runPipeline(ctx context.Context, sc *goredis.Script, keys [][]string, args [][]any) ([]*goredis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		cmds := make([]*goredis.Cmd, len(args))
		pipe := s.c.Pipeline()
		n := 0
		for i, a := range args {
			if a == nil {
				continue
			}
			cmds[i] = sc.EvalSha(ctx, pipe, keys[i], a...)
			n++
		}
		if n == 0 {
			return cmds, nil
		}
		_, err := pipe.Exec(ctx)
		if err == nil || attempt > 0 || !noScript(cmds) {
			return cmds, nil
		}
		if err := sc.Load(ctx, s.c).Err(); err != nil {
			return nil, unavailable("load script", err)
		}
	}
}

func noScript(cmds []*goredis.Cmd) bool {
	for _, c := range cmds {
		if c != nil && c.Err() != nil && goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// unavailable wraps a Redis failure; a cancelled context stays the caller's.
func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("presence redis: %s: %w", what, err)
	}
	return fmt.Errorf("presence redis: %s: %w: %w", what, presence.ErrUnavailable, err)
}

// parseSync reads {count, pos, gap, lost, fields...}.
func parseSync(v any, r *presence.SyncResult) error {
	a, ok := v.([]any)
	if !ok || len(a) < 4 {
		return fmt.Errorf("presence redis: sync %s: unexpected reply %T", r.Topic, v)
	}
	count, ok1 := a[0].(int64)
	pos, ok2 := a[1].(string)
	gap, ok3 := a[2].(int64)
	lost, ok4 := a[3].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("presence redis: sync %s: unexpected reply header", r.Topic)
	}
	r.Count, r.Pos, r.Gap, r.Lost = int(count), pos, gap == 1, lost == 1
	for _, e := range a[4:] {
		c, err := parseChange(e)
		if err != nil {
			return fmt.Errorf("presence redis: sync %s: %w", r.Topic, err)
		}
		r.Changes = append(r.Changes, c)
	}
	return nil
}

// parseChange reads one log entry's fields: j sub n name | l sub.
func parseChange(v any) (presence.Change, error) {
	f, ok := v.([]any)
	if !ok || len(f) < 2 {
		return presence.Change{}, fmt.Errorf("log entry is %T, want a field list", v)
	}
	kind, _ := f[0].(string)
	sub, _ := f[1].(string)
	switch {
	case kind == "l" && len(f) == 2:
		return presence.Change{Member: presence.Member{Sub: sub}}, nil
	case kind == "j" && len(f) == 4:
		name, _ := f[3].(string)
		return presence.Change{Join: true, Member: presence.Member{Sub: sub, Name: name}}, nil
	}
	return presence.Change{}, fmt.Errorf("log entry %q is not a join or leave", strings.Join(strs(f), " "))
}

func strs(f []any) []string {
	out := make([]string, len(f))
	for i, v := range f {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// Members implements presence.Store.
func (s *Store) Members(ctx context.Context, topic, after string, limit int) (presence.Page, error) {
	if err := event.ValidateTopic(topic); err != nil {
		return presence.Page{}, fmt.Errorf("%w: %v", presence.ErrInvalid, err)
	}
	limit = max(1, min(limit, presence.MaxPageLimit))
	k, nprefix := s.keys(topic)
	a := append(s.common(nprefix), after, limit)
	cmds, err := s.runPipeline(ctx, s.scripts.members, [][]string{k}, [][]any{a})
	if err != nil {
		return presence.Page{}, err
	}
	if err := cmds[0].Err(); err != nil {
		return presence.Page{}, unavailable("members "+topic, err)
	}
	return parseMembers(cmds[0].Val(), limit)
}

func parseMembers(v any, limit int) (presence.Page, error) {
	a, ok := v.([]any)
	if !ok || len(a) < 2 || len(a)%2 != 0 {
		return presence.Page{}, fmt.Errorf("presence redis: members: unexpected reply %T", v)
	}
	count, _ := a[0].(int64)
	countOnly, _ := a[1].(int64)
	p := presence.Page{Count: int(count), CountOnly: countOnly == 1, Members: make([]presence.Member, 0, len(a)/2-1)}
	for i := 2; i < len(a); i += 2 {
		sub, _ := a[i].(string)
		name, _ := a[i+1].(string)
		p.Members = append(p.Members, presence.Member{Sub: sub, Name: name})
	}
	if len(p.Members) == limit {
		p.Next = p.Members[limit-1].Sub
	}
	return p, nil
}
