package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay/infra/event"
)

// Encoding shared by both implementations. An event is encoded once, at
// publish, into the bytes every subscriber receives. The body is encoded
// before the id is known (Redis assigns the id inside its Lua script), so the
// id is spliced in front afterwards by AttachID — the Lua script does the same
// splice on the same bytes.

// bodyPrefix is how every body starts; AttachID and the Lua script rely on it.
const bodyPrefix = `{"topic":`

// maxIDOverhead is the most AttachID adds: `"id":"` + 20 digits + '-' +
// 20 digits + `",`. The size limit counts it so that the event as delivered,
// not just the body, stays within MaxEventBytes whatever id it gets.
const maxIDOverhead = len(`"id":"",`) + 20 + 1 + 20

// emptyData is what an absent Data becomes: clients always find an object.
const emptyData = "{}"

// EncodeBody validates m and returns its event JSON without the id:
//
//	{"topic":"…","type":"…","time":"RFC3339Nano UTC","source":"…","data":…}
//
// source is omitted when empty (as event.Event's encoding does). Data is
// compacted: the bytes go into SSE "data:" lines, where a raw newline would
// end the field. Empty Data encodes as {}. Time is m.Time, or now when zero.
// maxBytes bounds the event as delivered (with its id); <= 0 means
// DefaultMaxEventBytes. Every error wraps ErrInvalid and names what failed.
func EncodeBody(m Message, now time.Time, maxBytes int) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxEventBytes
	}
	// Data is left out of Validate: Compact below checks it in the same
	// pass that copies it, instead of scanning it twice.
	e := event.Event{Topic: m.Topic, Type: m.Type, Source: m.Source}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// Reject the obviously oversized before compacting a large blob.
	if len(m.Data) > 2*maxBytes {
		return nil, tooLarge(m.Topic, len(m.Data), maxBytes)
	}
	t := m.Time
	if t.IsZero() {
		t = now
	}
	b := make([]byte, 0, 96+len(m.Topic)+len(m.Type)+len(m.Source)+len(m.Data))
	b = append(b, bodyPrefix...)
	b = appendString(b, m.Topic)
	b = append(b, `,"type":`...)
	b = appendString(b, m.Type)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if m.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, m.Source)
	}
	b = append(b, `,"data":`...)
	if len(m.Data) == 0 {
		b = append(b, emptyData...)
	} else {
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, m.Data); err != nil {
			return nil, fmt.Errorf("%w: event data: not valid JSON: %v", ErrInvalid, err)
		}
		b = buf.Bytes()
	}
	b = append(b, '}')
	if len(b)+maxIDOverhead > maxBytes {
		return nil, tooLarge(m.Topic, len(b)+maxIDOverhead, maxBytes)
	}
	return b, nil
}

func tooLarge(topic string, n, limit int) error {
	return fmt.Errorf("%w: event for topic %q is %d bytes encoded, over the limit of %d bytes", ErrInvalid, topic, n, limit)
}

// appendString appends s as a JSON string. Topics, types and sources are
// validated printable ASCII, so only '"' and '\' need escaping; anything
// else below 0x20 or above 0x7e is escaped too so the output is valid JSON
// whatever the caller passes.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// AttachID returns the complete event JSON: body (from EncodeBody) with
// "id" spliced in as the first field. It allocates a new slice; body is not
// modified. body may be a string (as Redis replies hold it) to save a copy.
func AttachID[B []byte | string](body B, id event.ID) []byte {
	out := make([]byte, 0, len(body)+maxIDOverhead)
	out = append(out, `{"id":"`...)
	out = id.AppendTo(out)
	out = append(out, `",`...)
	return append(out, body[1:]...)
}

// NextID returns the id the next event of a topic gets, given the topic's
// last id and the clock in Unix milliseconds: ms = max(nowMS, last.MS), seq =
// last.Seq+1 within the same ms, else 0. Ids stay strictly increasing when the
// clock stands still or steps back (the rule Redis applies to stream ids).
func NextID(last event.ID, nowMS uint64) event.ID {
	return last.Next(nowMS)
}

// DataOf returns the "data" value of a complete event encoding. Every field
// before data is a string, so the first string "data" followed by ':' is the
// key; values cannot fool the scan because strings are skipped whole. The
// result shares full's memory; a body from EncodeBody works too.
func DataOf(full []byte) json.RawMessage {
	for i := 0; i < len(full); i++ {
		if full[i] != '"' {
			continue
		}
		start := i
		for i++; i < len(full) && full[i] != '"'; i++ {
			if full[i] == '\\' {
				i++
			}
		}
		if string(full[start:i+1]) == `"data"` && i+1 < len(full) && full[i+1] == ':' {
			return json.RawMessage(full[i+2 : len(full)-1 : len(full)-1])
		}
	}
	return nil
}
