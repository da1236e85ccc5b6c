package deliverylog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Appender is the write side of a Store: all a Writer needs.
type Appender interface {
	// Append adds entries (already prepared: IDs set, bodies redacted) to
	// their sources' logs and trims each log to its limits.
	Append(ctx context.Context, entries []Entry) error
}

// Store keeps a bounded log per source.
type Store interface {
	Appender
	// List returns the newest entries matching q, newest first.
	List(ctx context.Context, q Query) ([]Entry, error)
	// Get returns one entry of a source's log.
	Get(ctx context.Context, source, id string) (Entry, error)
}

// ErrNotFound is returned by Get for an entry that is not (or no longer) in
// the log.
var ErrNotFound = fmt.Errorf("delivery not in the log (never logged, or trimmed by count, bytes or age)")

// Limits bound each source's log. Zero values mean the defaults.
type Limits struct {
	// Count is the most entries kept per source. Default 1000.
	Count int
	// Bytes bounds the encoded entries kept per source. Default 4 MiB.
	Bytes int64
	// TTL is how long an entry is kept. Default 24 h.
	TTL time.Duration
	// EntryBytes bounds one encoded entry: a body that would make it
	// larger is left out (BodyNote says so). Default 64 KiB.
	EntryBytes int
}

// Defaults of Limits.
const (
	DefaultCount      = 1000
	DefaultBytes      = 4 << 20
	DefaultTTL        = 24 * time.Hour
	DefaultEntryBytes = 64 << 10
)

// WithDefaults fills zero values.
func (l Limits) WithDefaults() Limits {
	if l.Count <= 0 {
		l.Count = DefaultCount
	}
	if l.Bytes <= 0 {
		l.Bytes = DefaultBytes
	}
	if l.TTL <= 0 {
		l.TTL = DefaultTTL
	}
	if l.EntryBytes <= 0 {
		l.EntryBytes = DefaultEntryBytes
	}
	return l
}

// Query selects entries. Empty fields match everything.
type Query struct {
	// Sources limits the search to these logs; empty means every log.
	Sources []string
	// Status matches an outcome ("refused"), a status class ("4xx") or a
	// status code ("401").
	Status string
	// DeliveryID matches the sender's delivery id exactly.
	DeliveryID string
	// Limit is the most entries returned. Default and maximum 200.
	Limit int
}

// MaxQueryLimit caps Query.Limit.
const MaxQueryLimit = 200

// Match reports whether e fits q (sources aside).
func (q Query) Match(e *Entry) bool {
	if q.DeliveryID != "" && e.DeliveryID != q.DeliveryID {
		return false
	}
	switch s := q.Status; {
	case s == "":
	case s == string(e.Outcome), s == StatusClass(e.Status), s == strconv.Itoa(e.Status):
	default:
		return false
	}
	return true
}

func (q Query) limit() int {
	if q.Limit <= 0 || q.Limit > MaxQueryLimit {
		return MaxQueryLimit
	}
	return q.Limit
}

// newID returns a unique entry id that sorts by time.
func newID(t time.Time) string {
	var b [6]byte
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(t.UnixMilli(), 36) + "-" + hex.EncodeToString(b[:])
}

// Stored entries are "<13-digit unix ms><JSON>": the prefix lets the Redis
// trim script read an entry's age without decoding JSON.
const stampLen = 13

// encodeEntry checks e's source name and encodes it: what Append does to
// each entry before storing it, in every Store.
func encodeEntry(e *Entry) ([]byte, error) {
	if !validSource(e.Source) {
		return nil, fmt.Errorf("delivery log: invalid source name %q", e.Source)
	}
	return encodeElement(e)
}

func encodeElement(e *Entry) ([]byte, error) {
	j, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode delivery log entry: %w", err)
	}
	out := make([]byte, 0, stampLen+len(j))
	out = fmt.Appendf(out, "%013d", e.Time.UnixMilli())
	return append(out, j...), nil
}

// decodeElement parses a stored element.
func decodeElement(b []byte) (Entry, error) {
	var e Entry
	if len(b) < stampLen+2 {
		return e, fmt.Errorf("delivery log element of %d bytes is too short", len(b))
	}
	if _, err := strconv.ParseUint(string(b[:stampLen]), 10, 64); err != nil {
		return e, fmt.Errorf("delivery log element: bad time prefix %q", b[:stampLen])
	}
	if err := json.Unmarshal(b[stampLen:], &e); err != nil {
		return e, fmt.Errorf("delivery log element: %w", err)
	}
	return e, nil
}

// elementTime reads the time prefix of a stored element (0 if malformed).
func elementTime(b []byte) int64 {
	if len(b) < stampLen {
		return 0
	}
	n, err := strconv.ParseInt(string(b[:stampLen]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// newestFirst sorts entries by time, newest first, and keeps limit.
func newestFirst(es []Entry, limit int) []Entry {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.After(es[j].Time) })
	if len(es) > limit {
		es = es[:limit]
	}
	return es
}

// validSource reports whether name may name a log (configured source
// names, or UnknownSourceLog): it goes into Redis keys.
func validSource(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	return !strings.ContainsAny(name, "{}: \t\r\n")
}
