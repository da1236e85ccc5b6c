package event

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Cursor is a resume position: the last delivered id of each topic of a
// subscription. Clients treat its string form as opaque and hand it back.
//
// Wire form: for a single topic the bare id ("1700000000000-3"), so every
// subscriber of a one-topic stream shares the same bytes; for several topics
// "v1." + base64url(no padding) of "topic id;topic id;…" sorted by topic.
type Cursor []Position

// Position is one topic's last delivered id.
type Position struct {
	Topic string
	ID    ID
}

// Limits that keep cursor parsing cheap whatever a client sends.
const (
	MaxCursorLen    = 16 << 10
	MaxCursorTopics = 256
	cursorPrefix    = "v1."
)

// ErrCursor is wrapped by every cursor parse error.
var ErrCursor = errors.New("invalid cursor")

// Get returns topic's id and whether the cursor has one.
func (c Cursor) Get(topic string) (ID, bool) {
	i := sort.Search(len(c), func(i int) bool { return c[i].Topic >= topic })
	if i < len(c) && c[i].Topic == topic {
		return c[i].ID, true
	}
	return ID{}, false
}

// Set records id as topic's position, keeping the cursor sorted.
func (c *Cursor) Set(topic string, id ID) {
	s := *c
	i := sort.Search(len(s), func(i int) bool { return s[i].Topic >= topic })
	if i < len(s) && s[i].Topic == topic {
		s[i].ID = id
		return
	}
	s = append(s, Position{})
	copy(s[i+1:], s[i:])
	s[i] = Position{Topic: topic, ID: id}
	*c = s
}

// Delete removes topic's position.
func (c *Cursor) Delete(topic string) {
	s := *c
	i := sort.Search(len(s), func(i int) bool { return s[i].Topic >= topic })
	if i < len(s) && s[i].Topic == topic {
		*c = append(s[:i], s[i+1:]...)
	}
}

// String returns the opaque wire form ("" for an empty cursor).
func (c Cursor) String() string {
	return string(c.AppendTo(nil))
}

// AppendTo appends the wire form to b. A single-topic cursor appends
// without allocating; several topics need one scratch buffer.
func (c Cursor) AppendTo(b []byte) []byte {
	switch len(c) {
	case 0:
		return b
	case 1:
		return c[0].ID.AppendTo(b)
	}
	var raw []byte
	for i, p := range c {
		if i > 0 {
			raw = append(raw, ';')
		}
		raw = append(raw, p.Topic...)
		raw = append(raw, ' ')
		raw = p.ID.AppendTo(raw)
	}
	b = append(b, cursorPrefix...)
	return base64.RawURLEncoding.AppendEncode(b, raw)
}

// ParseCursor parses a cursor a client handed back for a subscription to
// topics. A bare id is only valid when there is exactly one topic. Positions
// for topics outside the subscription are dropped, so a client may change its
// topic list and keep its cursor. Every error wraps ErrCursor.
func ParseCursor(s string, topics []string) (Cursor, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > MaxCursorLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrCursor, MaxCursorLen)
	}
	if !strings.HasPrefix(s, cursorPrefix) {
		id, err := ParseID(s)
		if err != nil {
			return nil, fmt.Errorf("%w: not a cursor this server issued", ErrCursor)
		}
		if len(topics) != 1 {
			return nil, fmt.Errorf("%w: a single-topic cursor cannot resume %d topics", ErrCursor, len(topics))
		}
		return Cursor{{Topic: topics[0], ID: id}}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(cursorPrefix):])
	if err != nil {
		return nil, fmt.Errorf("%w: not a cursor this server issued", ErrCursor)
	}
	want := make(map[string]bool, len(topics))
	for _, t := range topics {
		want[t] = true
	}
	var c Cursor
	n := 0
	for part := range strings.SplitSeq(string(raw), ";") {
		n++
		if n > MaxCursorTopics {
			return nil, fmt.Errorf("%w: more than %d topics", ErrCursor, MaxCursorTopics)
		}
		topic, idStr, ok := strings.Cut(part, " ")
		if !ok {
			return nil, fmt.Errorf("%w: malformed position", ErrCursor)
		}
		if err := ValidateTopic(topic); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCursor, err)
		}
		id, err := ParseID(idStr)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCursor, err)
		}
		if _, dup := c.Get(topic); dup {
			return nil, fmt.Errorf("%w: topic %q appears twice", ErrCursor, topic)
		}
		if want[topic] {
			c.Set(topic, id)
		}
	}
	return c, nil
}
