// Package event defines the envelope every client parses, topic names and
// their validation, event ids and cursors (opaque resume positions).
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is the only thing clients ever parse. ID is per topic and strictly
// increasing; it is assigned by the bus when the event is published.
type Event struct {
	ID     string          `json:"id,omitempty"`
	Topic  string          `json:"topic"`
	Type   string          `json:"type"`
	Time   time.Time       `json:"time"`
	Source string          `json:"source,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// Limits on the fields of an event, checked by Validate.
const (
	MaxTypeLen   = 200
	MaxSourceLen = 100
)

// Validate checks everything but the id (which the bus assigns): topic rules,
// a non-empty type of printable ASCII, and data that is valid JSON when set.
func (e *Event) Validate() error {
	if err := ValidateTopic(e.Topic); err != nil {
		return err
	}
	if e.Type == "" {
		return &FieldError{Field: "type", Msg: "must not be empty"}
	}
	if len(e.Type) > MaxTypeLen {
		return &FieldError{Field: "type", Msg: fmt.Sprintf("longer than %d bytes", MaxTypeLen)}
	}
	if !printableASCII(e.Type) {
		return &FieldError{Field: "type", Msg: "only printable ASCII without spaces is allowed"}
	}
	if len(e.Source) > MaxSourceLen {
		return &FieldError{Field: "source", Msg: fmt.Sprintf("longer than %d bytes", MaxSourceLen)}
	}
	if e.Source != "" && !printableASCII(e.Source) {
		return &FieldError{Field: "source", Msg: "only printable ASCII without spaces is allowed"}
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return &FieldError{Field: "data", Msg: "not valid JSON"}
	}
	return nil
}

// FieldError names the event field (type, source, data) that broke a rule,
// so an API can point the caller at it (events[2].type) without reading
// error text.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "event " + e.Field + ": " + e.Msg }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ID is a parsed event id "ms-seq", the form of Redis stream ids. Both buses
// produce it. Clients never parse ids; servers compare them with ID.Compare.
type ID struct {
	MS  uint64
	Seq uint64
}

// ParseID parses "ms-seq". It rejects anything else, including signs,
// spaces and leading '+'.
func ParseID(s string) (ID, error) {
	dash := strings.IndexByte(s, '-')
	if dash <= 0 || dash == len(s)-1 {
		return ID{}, fmt.Errorf("event id %q: want <ms>-<seq>", truncate(s))
	}
	ms, err := parseUint(s[:dash])
	if err != nil {
		return ID{}, fmt.Errorf("event id %q: want <ms>-<seq>", truncate(s))
	}
	seq, err := parseUint(s[dash+1:])
	if err != nil {
		return ID{}, fmt.Errorf("event id %q: want <ms>-<seq>", truncate(s))
	}
	return ID{MS: ms, Seq: seq}, nil
}

func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, errors.New("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// String formats the id as "ms-seq".
func (id ID) String() string {
	return strconv.FormatUint(id.MS, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// AppendTo appends the "ms-seq" form to b without allocating.
func (id ID) AppendTo(b []byte) []byte {
	b = strconv.AppendUint(b, id.MS, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// IsZero reports whether id is 0-0, which precedes every real event.
func (id ID) IsZero() bool { return id.MS == 0 && id.Seq == 0 }

// Compare returns -1, 0 or +1 as id is before, equal to or after other.
func (id ID) Compare(other ID) int {
	switch {
	case id.MS < other.MS:
		return -1
	case id.MS > other.MS:
		return 1
	case id.Seq < other.Seq:
		return -1
	case id.Seq > other.Seq:
		return 1
	}
	return 0
}

// Next returns the smallest id after id that a clock reading of nowMS allows:
// nowMS-0 when the clock moved on, else the same ms with seq+1. This keeps ids
// strictly increasing when the clock stands still or steps back. When seq is
// exhausted the ms part moves on instead of wrapping (as Redis does).
func (id ID) Next(nowMS uint64) ID {
	if nowMS > id.MS {
		return ID{MS: nowMS}
	}
	if id.Seq == math.MaxUint64 {
		return ID{MS: id.MS + 1}
	}
	return ID{MS: id.MS, Seq: id.Seq + 1}
}

// truncate shortens s for an error message, cutting on a rune boundary so
// the message stays valid UTF-8 (it ends up in JSON error bodies).
func truncate(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	cut := keep
	for cut > keep-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
