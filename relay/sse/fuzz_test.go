package sse

import (
	"net/url"
	"slices"
	"testing"

	"github.com/hookrelay/hookrelay/infra/event"
)

// FuzzParseTopics checks the pre-authentication topic parser on any query:
// it never panics, and a success is a duplicate-free list of valid topics,
// each one of the parameters, at most max of them.
func FuzzParseTopics(f *testing.F) {
	for _, s := range []string{"topic=a:1&topic=a:1&topic=b", "topic=", "topic=a%20b", "topic=a&topic=b&topic=c&topic=d"} {
		f.Add(s)
	}
	const max = 3
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in := q["topic"]
		topics, err := parseTopics(in, max)
		if err != nil {
			return
		}
		if len(topics) == 0 || len(topics) > max || len(in) > max {
			t.Fatalf("parseTopics(%q) = %q: want 1 to %d topics from at most %d parameters", in, topics, max, max)
		}
		for i, tp := range topics {
			if event.ValidateTopic(tp) != nil || !slices.Contains(in, tp) || slices.Contains(topics[:i], tp) {
				t.Fatalf("parseTopics(%q) = %q: invalid, invented or duplicate %q", in, topics, tp)
			}
		}
	})
}
