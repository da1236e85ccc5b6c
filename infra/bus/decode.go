package bus

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// DecodeOptions says how strict DecodeRequest is with what it does not know.
type DecodeOptions struct {
	// Strict refuses unknown fields (the HTTP API); otherwise they are
	// skipped (the publish Lambda's payloads, WebSocket frames).
	Strict bool
	// Single reads one event: "events" is an unknown field like any other
	// (WebSocket publish frames carry exactly one event).
	Single bool
}

// maxDepth bounds nesting inside data, as encoding/json does.
const maxDepth = 10000

// field indexes the fields of a publish request, in fieldNames order.
type field uint8

const (
	fTopic field = iota
	fType
	fData
	fSource
	fTime
	fKey
	fEvents
	fUnknown
)

var fieldNames = [...]string{"topic", "type", "data", "source", "time", "idempotency_key", "events"}

// DecodeRequest parses a publish request: one event object, or
// {"events":[...]}. It takes what encoding/json would decode into Request
// (field names matched case-insensitively, escapes, null meaning absent,
// the same time and UTF-8 handling) with one exception: a field given
// twice in one object is refused instead of the last one winning, so that
// a gateway that reads the first "topic" and the relay cannot disagree on
// where an event goes (security review I8). It reads the body in one pass
// without reflection; this is the publish hot path. Every error is a
// *RequestError.
func DecodeRequest(b []byte, o DecodeOptions) (Request, error) {
	d := decoder{b: b, o: o}
	var r Request
	d.space()
	if d.i == len(d.b) {
		return r, &RequestError{Msg: "empty body: want a JSON object"}
	}
	switch {
	case d.literal("null"):
		// As encoding/json: null decodes to nothing, an empty event.
	case d.b[d.i] == '{':
		if err := d.event(&r.RequestEvent, &r, -1); err != nil {
			return Request{}, err
		}
	default:
		if err := d.skip(0); err != nil {
			return Request{}, err
		}
		return Request{}, &RequestError{Msg: "want a JSON object"}
	}
	d.space()
	if d.i != len(d.b) {
		return Request{}, &RequestError{Msg: "invalid JSON: data after the first value"}
	}
	return r, nil
}

type decoder struct {
	b []byte
	i int
	o DecodeOptions
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) syntax(what string) error {
	if d.i >= len(d.b) {
		return &RequestError{Msg: "invalid JSON: unexpected end of input"}
	}
	return &RequestError{Msg: "invalid JSON: " + what + " at offset " + strconv.Itoa(d.i)}
}

// open consumes the opening bracket at d.i and reports whether end closes
// it at once (an empty object or array, consumed too).
func (d *decoder) open(end byte) (empty bool) {
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == end {
		d.i++
		return true
	}
	return false
}

// next reads what follows a member or an element: ',' (another follows)
// or end (the object or array ends: done).
func (d *decoder) next(end byte) (done bool, err error) {
	d.space()
	if d.i >= len(d.b) {
		return false, d.syntax("")
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return false, nil
	case end:
		d.i++
		return true, nil
	}
	return false, d.syntax("want ',' or '" + string(end) + "'")
}

// literal consumes lit if it is next.
func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// event reads one event object at d.i into e; top is the request itself
// when this is the top level (where "events" may appear), i the index in
// a batch or -1.
func (d *decoder) event(e *RequestEvent, top *Request, i int) error {
	var seen uint8
	if d.open('}') {
		return nil
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.syntax("want a field name")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		f := lookup(key, top != nil && !d.o.Single)
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return d.syntax("want ':' after a field name")
		}
		d.i++
		d.space()
		if f == fUnknown {
			if d.o.Strict {
				return &RequestError{Path: FieldPath(i, ""), Msg: "unknown field " + strconv.Quote(key)}
			}
			if err := d.skip(0); err != nil {
				return err
			}
		} else {
			if seen&(1<<f) != 0 {
				return &RequestError{Path: FieldPath(i, fieldNames[f]), Msg: "given more than once"}
			}
			seen |= 1 << f
			if err := d.value(f, e, top, i); err != nil {
				return err
			}
		}
		if done, err := d.next('}'); done || err != nil {
			return err
		}
	}
}

// lookup matches a field name the way encoding/json does (exactly, else
// case-insensitively).
func lookup(key string, events bool) field {
	n := len(fieldNames)
	if !events {
		n-- // "events" only at the top level of a request
	}
	for f := 0; f < n; f++ {
		if key == fieldNames[f] {
			return field(f)
		}
	}
	for f := 0; f < n; f++ {
		if strings.EqualFold(key, fieldNames[f]) {
			return field(f)
		}
	}
	return fUnknown
}

// value reads the value of a known field.
func (d *decoder) value(f field, e *RequestEvent, top *Request, i int) error {
	if f == fData {
		start := d.i
		if err := d.skip(0); err != nil {
			return err
		}
		e.Data = json.RawMessage(d.b[start:d.i:d.i])
		return nil
	}
	if d.literal("null") {
		return nil // absent, as encoding/json leaves it
	}
	switch f {
	case fEvents:
		return d.events(top)
	case fTime:
		start := d.i
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.wrongType(i, f, "an RFC 3339 time string")
		}
		if _, err := d.skipStr(); err != nil {
			return err
		}
		t := new(time.Time)
		if err := t.UnmarshalJSON(d.b[start:d.i]); err != nil {
			return &RequestError{Path: FieldPath(i, "time"), Msg: "want an RFC 3339 time: " + err.Error()}
		}
		e.Time = t
		return nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return d.wrongType(i, f, "a string")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	switch f {
	case fTopic:
		e.Topic = s
	case fType:
		e.Type = s
	case fSource:
		e.Source = s
	case fKey:
		e.IdempotencyKey = s
	}
	return nil
}

// wrongType refuses a value of the wrong JSON type, after checking it is
// valid JSON at all (a syntax error is reported as such).
func (d *decoder) wrongType(i int, f field, want string) error {
	if err := d.skip(0); err != nil {
		return err
	}
	return &RequestError{Path: FieldPath(i, fieldNames[f]), Msg: "want " + want}
}

// events reads the "events" array.
func (d *decoder) events(top *Request) error {
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return d.wrongType(-1, fEvents, "an array of events")
	}
	evs := make([]RequestEvent, 0, 1)
	if d.open(']') {
		top.Events = &evs
		return nil
	}
	for {
		d.space()
		evs = append(evs, RequestEvent{})
		n := len(evs) - 1
		switch {
		case d.literal("null"):
		case d.i < len(d.b) && d.b[d.i] == '{':
			if err := d.event(&evs[n], nil, n); err != nil {
				return err
			}
		default:
			if err := d.skip(0); err != nil {
				return err
			}
			return &RequestError{Path: "events[" + strconv.Itoa(n) + "]", Msg: "want an event object"}
		}
		done, err := d.next(']')
		if err != nil {
			return err
		}
		if done {
			top.Events = &evs
			return nil
		}
	}
}

// str reads a string at d.i (its opening quote). Plain ASCII without
// escapes is taken as is; anything else is decoded by encoding/json so
// that escapes and invalid UTF-8 (replaced by U+FFFD) come out the same.
func (d *decoder) str() (string, error) {
	start := d.i
	plain, err := d.skipStr()
	if err != nil {
		return "", err
	}
	if plain {
		return string(d.b[start+1 : d.i-1]), nil
	}
	var s string
	if err := json.Unmarshal(d.b[start:d.i], &s); err != nil {
		return "", &RequestError{Msg: "invalid JSON string at offset " + strconv.Itoa(start)}
	}
	return s, nil
}

// escape checks the escape at d.i ('\\') and moves past it.
func (d *decoder) escape() error {
	d.i++
	if d.i >= len(d.b) {
		return d.syntax("")
	}
	switch d.b[d.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i++
		return nil
	case 'u':
		if len(d.b)-d.i < 5 {
			d.i = len(d.b)
			return d.syntax("")
		}
		for _, h := range d.b[d.i+1 : d.i+5] {
			if !isHex(h) {
				return d.syntax("invalid \\u escape")
			}
		}
		d.i += 5
		return nil
	}
	return d.syntax("invalid escape")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// FieldPath names a field of a publish request for an error: "topic" for
// a single event (i < 0), "events[2].topic" for event 2 of a batch; name ""
// names the event itself. Every way in names fields this way.
func FieldPath(i int, name string) string {
	if i < 0 {
		return name
	}
	p := "events[" + strconv.Itoa(i) + "]"
	if name == "" {
		return p
	}
	return p + "." + name
}
