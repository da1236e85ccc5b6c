package redis

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookrelay/hookrelay/infra/event"
)

// idPrefix is how every event JSON the publish script writes begins.
const idPrefix = `{"id":"`

// parseLive splits a live message "<prev id> <event json>" and reads the
// event's id from the JSON's fixed prefix {"id":"<id>", so the JSON itself
// is never decoded on the dispatch path.
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
	if !strings.HasPrefix(rest, idPrefix) {
		return prev, id, nil, errors.New("live message: event JSON does not start with its id")
	}
	end := strings.IndexByte(rest[len(idPrefix):], '"')
	if end < 0 {
		return prev, id, nil, errors.New("live message: unterminated id")
	}
	text := rest[len(idPrefix) : len(idPrefix)+end]
	id, err = event.ParseID(text)
	if err != nil {
		return prev, id, nil, fmt.Errorf("live message: id: %w", err)
	}
	// The script writes canonical ids; anything else ("0-01") would make
	// Delivery.ID disagree with the JSON subscribers parse.
	var buf [41]byte
	if string(id.AppendTo(buf[:0])) != text {
		return prev, id, nil, fmt.Errorf("live message: id %q is not canonical", text)
	}
	if id.Compare(prev) <= 0 {
		return prev, id, nil, fmt.Errorf("live message: id %s not after prev %s", id, prev)
	}
	return prev, id, []byte(rest), nil
}
