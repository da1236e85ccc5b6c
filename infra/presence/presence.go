// Package presence keeps who is present in a topic across every relay
// node. Store is the contract; the memory subpackage is the one-process
// implementation (`relay dev`) and the redis subpackage the production one.
// Both pass the conformance suite in presencetest.
//
// The model: each node tells the store, for each topic, which subjects it
// holds (deltas: joins and leaves) and that it is alive (a heartbeat whose
// deadline is now + TTL). A subject is a member while at least one live
// node holds it, so several tabs or several relays of one subject count
// once. A node that stops heartbeating (crashed, partitioned) is expired by
// whichever caller notices first: the claim is atomic, so each of its
// members' leave is recorded exactly once. Joins and leaves are appended to
// a per-topic change log that nodes read after a position, which is how a
// join on one node becomes visible on another.
//
// Above MaxMembers a topic is count-only: changes are not logged (nodes see
// the count change), member lists are not served.
package presence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Store is the shared presence state.
type Store interface {
	// Sync is one node's round trip for many topics at once (one batched
	// call per interval): for each request it expires dead nodes of the
	// topic, applies the node's leaves then joins, renews the node's
	// heartbeat (or drops it when the node holds nobody there) and reads
	// the topic's changes after req.After. Results are in request order;
	// a failed topic has Err set and nothing of its request applied, so
	// the caller resends the same delta next time.
	Sync(ctx context.Context, node string, reqs []SyncRequest) ([]SyncResult, error)

	// Members returns up to limit members of topic with a subject greater
	// than after, in subject order, and the member count, after expiring
	// dead nodes. A count-only topic (Count > MaxMembers) returns no
	// members and CountOnly.
	Members(ctx context.Context, topic, after string, limit int) (Page, error)

	// Close releases the store's connections.
	Close() error
}

// Member is one subject present in a topic. Name is what the member shows
// (a display name); it comes from a token claim, never from the client.
type Member struct {
	Sub  string `json:"sub"`
	Name string `json:"name,omitempty"`
}

// SyncRequest is one topic of a Sync.
type SyncRequest struct {
	Topic string
	// Join and Leave are the node's changes since its last successful
	// Sync of this topic. A subject the node already holds is not joined
	// twice; leaving one it does not hold is a no-op.
	Join  []Member
	Leave []string
	// Held says the node believes it holds members in this topic (it
	// joined some before). If the store no longer has the node (it was
	// expired while the node could not reach the store), the result says
	// Lost and the node must join its members again.
	Held bool
	// After is the log position last read; "" reads no changes and
	// returns the current position.
	After string
}

// SyncResult answers one SyncRequest.
type SyncResult struct {
	Topic string
	Count int
	// Changes after the request's After, oldest first, and Pos the
	// position after the last one (pass it as the next After).
	Changes []Change
	Pos     string
	// Gap: changes after After were trimmed from the log; the caller has
	// missed some and should reload the member list.
	Gap bool
	// Lost: the node had been expired from the topic (see Held).
	Lost bool
	Err  error
}

// Change is one logged join or leave.
type Change struct {
	Join   bool
	Member Member // Name is set on joins only
}

// Page is one page of a topic's members.
type Page struct {
	Count     int      `json:"count"`
	Members   []Member `json:"members"`
	CountOnly bool     `json:"count_only"`
	// Next is the after of the following page, "" on the last one.
	Next string `json:"next,omitempty"`
}

// Options bound a store. Zero values mean the defaults.
type Options struct {
	// TTL: a node's members leave this long after its last heartbeat.
	TTL time.Duration
	// MaxMembers: above this many members a topic is count-only.
	MaxMembers int
	// LogLen is the change log's length per topic (trimmed beyond it).
	// Entries older than LogAge are trimmed too: readers read every
	// interval, so a busy room's log costs what a minute of changes
	// takes, not LogLen entries for as long as the room lives.
	LogLen int
	LogAge time.Duration
	// ReadLimit bounds the changes one Sync returns per topic; the rest
	// come with the next Sync.
	ReadLimit int
	// ExpireBatch bounds how many members of a dead node one call
	// removes, so that a dead node with many members never blocks the
	// store for long; the rest go in the next calls, each exactly once.
	ExpireBatch int
}

// Defaults.
const (
	DefaultTTL         = 15 * time.Second
	DefaultMaxMembers  = 1000
	DefaultLogLen      = 10000
	DefaultLogAge      = time.Minute
	DefaultReadLimit   = 2000
	DefaultExpireBatch = 1000
	// MaxPageLimit bounds one Members page.
	MaxPageLimit = 1000
)

// WithDefaults fills zero fields.
func (o Options) WithDefaults() Options {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = DefaultMaxMembers
	}
	if o.LogLen <= 0 {
		o.LogLen = DefaultLogLen
	}
	if o.LogAge <= 0 {
		o.LogAge = DefaultLogAge
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.ExpireBatch <= 0 {
		o.ExpireBatch = DefaultExpireBatch
	}
	return o
}

// Errors stores return (wrapped).
var (
	// ErrUnavailable: the backend could not be reached; retry later.
	ErrUnavailable = errors.New("presence store unavailable")
	// ErrInvalid: a request the store refuses whatever its state.
	ErrInvalid = errors.New("invalid presence request")
)

// Limits on what a member carries: subjects and names end up in every
// watcher's frames and in the store.
const (
	MaxSubBytes  = 256
	MaxNameBytes = 128
	// MaxNodeBytes bounds a node id.
	MaxNodeBytes = 64
)

// ValidateMember checks a member before it is stored.
func ValidateMember(m Member) error {
	if err := ValidateSub(m.Sub); err != nil {
		return err
	}
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	return nil
}

// ValidateSub checks a subject: non-empty, printable UTF-8, bounded.
func ValidateSub(sub string) error {
	if sub == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalid)
	}
	return printable("subject", sub, MaxSubBytes)
}

// ValidateName checks a display name (empty allowed).
func ValidateName(name string) error { return printable("name", name, MaxNameBytes) }

// ValidateNode checks a node id: it is part of store keys, so it is kept
// to [A-Za-z0-9_.-].
func ValidateNode(node string) error {
	if node == "" || len(node) > MaxNodeBytes {
		return fmt.Errorf("%w: node id must be 1-%d bytes", ErrInvalid, MaxNodeBytes)
	}
	for _, r := range node {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return fmt.Errorf("%w: node id %q has a character outside [A-Za-z0-9_.-]", ErrInvalid, node)
		}
	}
	return nil
}

func printable(what, s string, maxBytes int) error {
	switch {
	case len(s) > maxBytes:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, maxBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s contains a control character", ErrInvalid, what)
	}
	return nil
}
