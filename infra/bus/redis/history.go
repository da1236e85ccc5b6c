package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// entry is one stream entry: the event, its id and its predecessor's id.
type entry struct {
	id   event.ID
	prev event.ID
	json []byte
}

// parseEntry reads the fields the publish script wrote: p = prev id, and
// b = event JSON without id (the id is spliced in here), or e = event JSON
// with id (entries written before the script stopped building the JSON).
func parseEntry(x goredis.XMessage) (entry, error) {
	id, err := event.ParseID(x.ID)
	if err != nil {
		return entry{}, fmt.Errorf("stream entry: %w", err)
	}
	p, _ := x.Values["p"].(string)
	prev, err := event.ParseID(p)
	if err != nil {
		return entry{}, fmt.Errorf("stream entry %s: prev: %w", x.ID, err)
	}
	js, err := storedJSON(id, x.Values)
	if err != nil {
		return entry{}, fmt.Errorf("stream entry %s: %w", x.ID, err)
	}
	return entry{id: id, prev: prev, json: js}, nil
}

// storedJSON returns the complete event JSON of a stream entry's fields.
func storedJSON(id event.ID, values map[string]any) ([]byte, error) {
	if b, ok := values["b"].(string); ok {
		return attachID(b, id)
	}
	e, _ := values["e"].(string)
	if !strings.HasPrefix(e, idPrefix) {
		return nil, errors.New("no event JSON")
	}
	return []byte(e), nil
}

// attachID splices id into a body the publish script stored or sent.
func attachID(body string, id event.ID) ([]byte, error) {
	if !strings.HasPrefix(body, bodyPrefix) {
		return nil, errors.New("event body does not start with its topic")
	}
	return bus.AttachID(body, id), nil
}

// bodyPrefix is how bus.EncodeBody starts every body.
const bodyPrefix = `{"topic":`

func parseEntries(xs []goredis.XMessage) ([]entry, error) {
	out := make([]entry, 0, len(xs))
	for _, x := range xs {
		e, err := parseEntry(x)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (e entry) delivery(topic string) bus.Delivery {
	return bus.Delivery{Topic: topic, ID: e.id, JSON: e.json}
}

// truncatedAfter applies the truncation rule: events after position "after"
// are missing when the first retained one does not name it as predecessor.
// A zero position means "from the beginning", which history trimming does
// not break.
func truncatedAfter(after event.ID, first entry) bool {
	return !after.IsZero() && first.prev != after
}

// chainBreak is the index of the first entry of es that does not name the
// one before it as predecessor (0: none).
func chainBreak(es []entry) int {
	for i := 1; i < len(es); i++ {
		if es[i].prev != es[i-1].id {
			return i
		}
	}
	return 0
}

// maxHistoryPage bounds one History call whatever the caller asks.
const maxHistoryPage = 1000

// History returns up to limit events after the id after (exclusive), or the
// latest limit events when after is "".
func (b *Bus) History(ctx context.Context, topic, after string, limit int) (bus.HistoryPage, error) {
	if b.isClosed() {
		return bus.HistoryPage{}, fmt.Errorf("redis bus: history: %w", bus.ErrClosed)
	}
	if err := validTopic(topic); err != nil {
		return bus.HistoryPage{}, err
	}
	if limit <= 0 {
		return bus.HistoryPage{}, fmt.Errorf("history %s: limit %d: %w", topic, limit, bus.ErrInvalid)
	}
	limit = min(limit, maxHistoryPage)
	if after == "" {
		es, more, err := b.tail.read(ctx, topic, event.ID{}, limit)
		if err != nil {
			return bus.HistoryPage{}, err
		}
		// es is shared with the other calls of the read: reverse the
		// page built from it, not es.
		page := deliveries(topic, es)
		slices.Reverse(page)
		return bus.HistoryPage{Events: page, More: more}, nil
	}
	from, err := event.ParseID(after)
	if err != nil {
		return bus.HistoryPage{}, fmt.Errorf("history %s: after: %w: %v", topic, bus.ErrInvalid, err)
	}
	es, more, err := b.hist.read(ctx, topic, from, limit)
	if err != nil {
		return bus.HistoryPage{}, err
	}
	if i := chainBreak(es); i > 0 {
		// The page ends before an entry that does not follow its
		// predecessor (a failover lost events between them), so the next
		// page starts with it and says Truncated.
		es, more = es[:i], true
	}
	page := bus.HistoryPage{Events: deliveries(topic, es), More: more}
	if len(es) > 0 && truncatedAfter(from, es[0]) {
		page.Truncated = true
	}
	return page, nil
}

// readAfter reads up to limit entries with ids > after, at most a page of
// bytes; more reports that it stopped at the byte bound.
func (b *Bus) readAfter(ctx context.Context, topic string, after event.ID, limit int) ([]entry, bool, error) {
	return b.readPage(ctx, topic, rangeAfter(after), "+", limit, false)
}

// maxStreamID is the largest stream id; nothing can follow it.
const maxStreamID = "18446744073709551615-18446744073709551615"

// rangeAfter is the XRANGE start for "ids > after". Redis refuses an
// exclusive start at the largest id ("(" cannot be incremented), so that one
// case starts at "+" which, with end "+" or a COUNT, reads nothing after it:
// XRANGE with start "+" returns only an entry whose id is the maximum, and
// none can exist because ids are assigned from the clock.
func rangeAfter(after event.ID) string {
	if s := after.String(); s != maxStreamID {
		return "(" + s
	}
	return "+"
}

func deliveries(topic string, es []entry) []bus.Delivery {
	out := make([]bus.Delivery, len(es))
	for i, e := range es {
		out[i] = e.delivery(topic)
	}
	return out
}

// SetRead moves reader's read cursor for topic forward to id.
func (b *Bus) SetRead(ctx context.Context, reader, topic, id string) error {
	if b.isClosed() {
		return fmt.Errorf("redis bus: set read: %w", bus.ErrClosed)
	}
	if err := validTopic(topic); err != nil {
		return err
	}
	if reader == "" {
		return fmt.Errorf("set read %s: empty reader: %w", topic, bus.ErrInvalid)
	}
	pos, err := event.ParseID(id)
	if err != nil {
		return fmt.Errorf("set read %s: %w: %v", topic, bus.ErrInvalid, err)
	}
	err = b.scripts.setRead.Run(ctx, b.client, []string{b.keys.readers(topic)},
		reader, pos.MS, pos.Seq, b.opt.Bus.HistoryTTL.Milliseconds()).Err()
	if err != nil {
		return b.unavailable("set read "+topic, err)
	}
	return nil
}

// Unread counts reader's unread events of topic, capped at bus.MaxUnread.
// It runs as a script so the events are counted in Redis, not sent.
func (b *Bus) Unread(ctx context.Context, reader, topic string) (bus.UnreadCount, error) {
	if b.isClosed() {
		return bus.UnreadCount{}, fmt.Errorf("redis bus: unread: %w", bus.ErrClosed)
	}
	if err := validTopic(topic); err != nil {
		return bus.UnreadCount{}, err
	}
	if reader == "" {
		return bus.UnreadCount{}, fmt.Errorf("unread %s: empty reader: %w", topic, bus.ErrInvalid)
	}
	res, err := b.scripts.unread.Run(ctx, b.client,
		[]string{b.keys.stream(topic), b.keys.readers(topic)}, reader, bus.MaxUnread).Result()
	if err != nil {
		return bus.UnreadCount{}, b.unavailable("unread "+topic, err)
	}
	reply, ok := res.([]any)
	if !ok || len(reply) != 3 {
		return bus.UnreadCount{}, b.unavailable("unread "+topic, fmt.Errorf("unexpected script reply %T", res))
	}
	n := int(toInt(reply[0]))
	readID, _ := reply[1].(string)
	lastID, _ := reply[2].(string)
	return bus.UnreadCount{Count: n, Capped: n >= bus.MaxUnread, ReadID: readID, LastID: lastID}, nil
}
