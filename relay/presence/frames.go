package presence

import (
	"encoding/json"

	"github.com/hookrelay/hookrelay/infra/presence"
)

// Presence updates as watchers receive them (docs/protocol.md). Each is
// encoded once per topic and sync and shared by every watcher; SSE sends
// it as `event: presence`, WS as {"op":"presence",...}.
//
//	snapshot:   {"topic":"room:1","count":2,"members":[{"sub":"a","name":"Ann"},{"sub":"b"}]}
//	update:     {"topic":"room:1","count":2,"join":[{"sub":"c"}],"leave":["b"]}
//	count-only: {"topic":"room:1","count":5012,"count_only":true}

type snapshotJSON struct {
	Topic   string            `json:"topic"`
	Count   int               `json:"count"`
	Members []presence.Member `json:"members"`
}

type updateJSON struct {
	Topic string            `json:"topic"`
	Count int               `json:"count"`
	Join  []presence.Member `json:"join"`
	Leave []string          `json:"leave"`
}

type countJSON struct {
	Topic     string `json:"topic"`
	Count     int    `json:"count"`
	CountOnly bool   `json:"count_only"`
}

// encodeSnapshot is the full state a new watcher (or every watcher after a
// resync) starts from.
func encodeSnapshot(topic string, count int, countOnly bool, members []presence.Member) []byte {
	if countOnly {
		return mustJSON(countJSON{Topic: topic, Count: count, CountOnly: true})
	}
	if members == nil {
		members = []presence.Member{}
	}
	return mustJSON(snapshotJSON{Topic: topic, Count: count, Members: members})
}

// encodeUpdate is one interval's changes, coalesced: a subject that
// joined and left again (or left and came back) within the interval is
// not mentioned at all; otherwise its last change counts. nil: nothing to
// say. A count-only topic only says its count, and only when it moved.
func encodeUpdate(topic string, count int, countOnly bool, oldCount int, changes []presence.Change) []byte {
	if countOnly {
		if count == oldCount {
			return nil
		}
		return mustJSON(countJSON{Topic: topic, Count: count, CountOnly: true})
	}
	join, leave := coalesce(changes)
	if len(join) == 0 && len(leave) == 0 && count == oldCount {
		return nil
	}
	if join == nil {
		join = []presence.Member{}
	}
	if leave == nil {
		leave = []string{}
	}
	return mustJSON(updateJSON{Topic: topic, Count: count, Join: join, Leave: leave})
}

// coalesce reduces changes to the net joins and leaves, in the order each
// subject first changed.
func coalesce(changes []presence.Change) ([]presence.Member, []string) {
	type net struct {
		first, last presence.Change
	}
	order := make([]string, 0, len(changes))
	by := make(map[string]*net, len(changes))
	for _, c := range changes {
		n := by[c.Member.Sub]
		if n == nil {
			n = &net{first: c}
			by[c.Member.Sub] = n
			order = append(order, c.Member.Sub)
		}
		n.last = c
	}
	var join []presence.Member
	var leave []string
	for _, sub := range order {
		n := by[sub]
		if n.first.Join != n.last.Join {
			continue // back where it started
		}
		if n.last.Join {
			join = append(join, n.last.Member)
		} else {
			leave = append(leave, sub)
		}
	}
	return join, leave
}

// mustJSON encodes values made of strings, ints and bools, which cannot
// fail to encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}
