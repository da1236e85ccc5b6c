package redis

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookrelay/hookrelay/infra/event"
)

// idPrefix is how every complete event JSON begins.
const idPrefix = `{"id":"`

// parseLive splits a live message "<prev id> <id> <body>" (the body is the
// event JSON without its id, which is spliced in here) or, from a publish
// script older than that, "<prev id> <event json>" with the id read from
// the JSON's fixed prefix {"id":"<id>". The JSON itself is never decoded on
// the dispatch path.
func parseLive(payload string) (prev, id event.ID, js []byte, err error) {
	sp := strings.IndexByte(payload, ' ')
	if sp <= 0 {
		return prev, id, nil, errors.New("live message: no prev id")
	}
	prev, err = event.ParseID(payload[:sp])
	if err != nil {
		return prev, id, nil, fmt.Errorf("live message: prev: %w", err)
	}
	rest := payload[sp+1:]
	var text string
	whole := strings.HasPrefix(rest, idPrefix)
	if whole {
		end := strings.IndexByte(rest[len(idPrefix):], '"')
		if end < 0 {
			return prev, id, nil, errors.New("live message: unterminated id")
		}
		text = rest[len(idPrefix) : len(idPrefix)+end]
	} else {
		sp = strings.IndexByte(rest, ' ')
		if sp <= 0 {
			return prev, id, nil, errors.New("live message: no event id")
		}
		text, rest = rest[:sp], rest[sp+1:]
	}
	id, err = event.ParseID(text)
	if err != nil {
		return prev, id, nil, fmt.Errorf("live message: id: %w", err)
	}
	// Redis writes canonical ids; anything else ("0-01") would make
	// Delivery.ID disagree with the JSON subscribers parse.
	var buf [41]byte
	if string(id.AppendTo(buf[:0])) != text {
		return prev, id, nil, fmt.Errorf("live message: id %q is not canonical", text)
	}
	if id.Compare(prev) <= 0 {
		return prev, id, nil, fmt.Errorf("live message: id %s not after prev %s", id, prev)
	}
	if whole {
		return prev, id, []byte(rest), nil
	}
	js, err = attachID(rest, id)
	if err != nil {
		return prev, id, nil, fmt.Errorf("live message: %w", err)
	}
	return prev, id, js, nil
}
