package event

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestCursorSetGetDelete(t *testing.T) {
	var c Cursor
	c.Set("b", ID{2, 0})
	c.Set("a", ID{1, 0})
	c.Set("c", ID{3, 0})
	c.Set("b", ID{2, 5})
	if len(c) != 3 || !sort.SliceIsSorted(c, func(i, j int) bool { return c[i].Topic < c[j].Topic }) {
		t.Fatalf("cursor %v: want 3 sorted positions", c)
	}
	if id, ok := c.Get("b"); !ok || id != (ID{2, 5}) {
		t.Fatalf("Get(b) = %v, %v", id, ok)
	}
	if _, ok := c.Get("x"); ok {
		t.Fatal("Get of a missing topic")
	}
	c.Delete("b")
	c.Delete("missing")
	if _, ok := c.Get("b"); ok || len(c) != 2 {
		t.Fatalf("after Delete: %v", c)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	one := Cursor{{Topic: "order:1042", ID: ID{1700000000000, 3}}}
	if got := one.String(); got != "1700000000000-3" {
		t.Fatalf("single-topic wire form %q, want the bare id", got)
	}
	var many Cursor
	for i := range 50 {
		many.Set(fmt.Sprintf("room:%d", i), ID{uint64(1700000000000 + i), uint64(i)})
	}
	cases := []Cursor{nil, one, many, {{Topic: "a", ID: ID{}}, {Topic: "b", ID: ID{1, 1}}}}
	for _, c := range cases {
		s := c.String()
		if len(c) > 1 && !strings.HasPrefix(s, "v1.") {
			t.Fatalf("multi-topic wire form %q", s)
		}
		got, err := ParseCursor(s, topicsOf(c))
		if err != nil || !slices.Equal(got, c) {
			t.Fatalf("ParseCursor(%q) = %v, %v; want %v", s, got, err, c)
		}
	}
	// A client may change its topic list and keep its cursor: positions of
	// topics no longer subscribed are dropped, new topics have none.
	got, err := ParseCursor(many.String(), []string{"room:3", "room:7", "new:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Cursor{{Topic: "room:3", ID: ID{1700000000003, 3}}, {Topic: "room:7", ID: ID{1700000000007, 7}}}
	if !slices.Equal(got, want) {
		t.Fatalf("narrowed cursor %v, want %v", got, want)
	}
}

func TestParseCursorErrors(t *testing.T) {
	enc := func(raw string) string { return "v1." + base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	cases := []struct {
		name   string
		s      string
		topics []string
		want   string
	}{
		{"garbage", "hello", []string{"a"}, "not a cursor"},
		{"bare id, two topics", "1-2", []string{"a", "b"}, "single-topic cursor cannot resume 2 topics"},
		{"bad base64", "v1.***", []string{"a"}, "not a cursor"},
		{"padded base64", "v1." + base64.URLEncoding.EncodeToString([]byte("a 1-2;b 1-3")), []string{"a"}, "not a cursor"},
		{"no space", enc("a1-2"), []string{"a"}, "malformed position"},
		{"bad topic", enc("a b 1-2"), []string{"a"}, "invalid cursor"},
		{"bad id", enc("a 1-x"), []string{"a"}, "want <ms>-<seq>"},
		{"duplicate", enc("a 1-2;a 1-3"), []string{"a"}, "appears twice"},
		{"empty", "v1.", []string{"a"}, "malformed position"},
		{"too long", strings.Repeat("1", MaxCursorLen+1), []string{"a"}, "longer than"},
		{"too many topics", enc(manyPositions(MaxCursorTopics + 1)), []string{"a"}, "more than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCursor(c.s, c.topics)
			if !errors.Is(err, ErrCursor) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseCursor(%q) = %v, %v; want an ErrCursor containing %q", c.s, got, err, c.want)
			}
		})
	}
	if c, err := ParseCursor("", []string{"a", "b"}); err != nil || c != nil {
		t.Fatalf("empty cursor: %v, %v", c, err)
	}
}

func manyPositions(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("t%d 1-2", i)
	}
	return strings.Join(parts, ";")
}

func topicsOf(c Cursor) []string {
	ts := make([]string, len(c))
	for i, p := range c {
		ts[i] = p.Topic
	}
	return ts
}

// FuzzParseCursor: whatever a client sends, ParseCursor never panics; what
// it accepts holds only subscribed topics, sorted, once each, and survives
// String and ParseCursor again unchanged. topics is a space-separated list.
func FuzzParseCursor(f *testing.F) {
	f.Add("1700000000000-3", "order:1042")
	f.Add(Cursor{{Topic: "a", ID: ID{1, 2}}, {Topic: "b", ID: ID{3, 4}}}.String(), "a b c")
	f.Add("v1.", "a")
	f.Fuzz(func(t *testing.T, s, topicList string) {
		topics := strings.Fields(topicList)
		c, err := ParseCursor(s, topics)
		if err != nil {
			if !errors.Is(err, ErrCursor) {
				t.Fatalf("ParseCursor(%q) error %v does not wrap ErrCursor", s, err)
			}
			return
		}
		for i, p := range c {
			if !slices.Contains(topics, p.Topic) {
				t.Fatalf("ParseCursor(%q, %q) kept unsubscribed topic %q", s, topics, p.Topic)
			}
			if i > 0 && c[i-1].Topic >= p.Topic {
				t.Fatalf("ParseCursor(%q) not sorted or duplicated: %v", s, c)
			}
		}
		if len(c) == 0 {
			return
		}
		back, err := ParseCursor(c.String(), topicsOf(c))
		if err != nil || !slices.Equal(back, c) {
			t.Fatalf("round trip of %v via %q: %v, %v", c, c.String(), back, err)
		}
	})
}

// TestCursorOnePositionManyTopics pins down a trap for cursor producers: a
// cursor holding one position encodes as a bare id, which cannot resume a
// subscription to several topics. Producers give every subscribed topic a
// position (0-0 for a topic without events) so the wire form is v1.
func TestCursorOnePositionManyTopics(t *testing.T) {
	var c Cursor
	c.Set("order:1042", ID{5, 0})
	if _, err := ParseCursor(c.String(), []string{"order:1042", "user:42"}); !errors.Is(err, ErrCursor) {
		t.Fatalf("bare id for two topics: err = %v", err)
	}
	c.Set("user:42", ID{})
	got, err := ParseCursor(c.String(), []string{"order:1042", "user:42"})
	if err != nil || !slices.Equal(got, c) {
		t.Fatalf("with a 0-0 position: %v, %v", got, err)
	}
}
