package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// History page sizes.
const (
	DefaultHistoryLimit = 100
	MaxHistoryLimit     = 1000
)

// subscriber authenticates a per-topic read, checks the topic and the
// subscribe grant, and takes one token of the subject's read rate: every
// read costs Redis something, so a subject's ceiling is a rate.
func (s *server) subscriber(r *http.Request) (string, *auth.Grants, error) {
	topic := r.PathValue("topic")
	if err := event.ValidateTopic(topic); err != nil {
		return "", nil, err
	}
	g, err := s.authenticate(r.Context(), r)
	if err != nil {
		return "", nil, err
	}
	if !g.CanSubscribe(topic) {
		return "", nil, forbidden("no subscribe grant for topic %q", topic)
	}
	if s.ReadLimit != nil {
		if ok, wait := s.ReadLimit.AllowN(g.Subject, 1); !ok {
			return "", nil, RateLimited(wait, "read rate limit reached (HOOKRELAY_READ_RATE); retry after the Retry-After seconds")
		}
	}
	return topic, g, nil
}

// historyNodeKey is the HistoryNodeSlots key: one pool for the node.
const historyNodeKey = "node"

// historySlot takes a history slot for the subject and one of the node's,
// so concurrent history work (Redis replies, relay buffers of up to a page
// each) is bounded per subject and per node.
func (s *server) historySlot(subject string) (release func(), err error) {
	release = func() {}
	if s.HistorySubjectSlots != nil {
		rel, ok := s.HistorySubjectSlots.Acquire(subject)
		if !ok {
			return nil, RateLimited(time.Second, "too many history requests at once for this subject (HOOKRELAY_HISTORY_CONCURRENCY_PER_SUBJECT); retry")
		}
		release = rel
	}
	if s.HistoryNodeSlots != nil {
		rel, ok := s.HistoryNodeSlots.Acquire(historyNodeKey)
		if !ok {
			release()
			e := Errorf(CodeOverCapacity, http.StatusServiceUnavailable, "this relay is serving its maximum of history requests (HOOKRELAY_HISTORY_CONCURRENCY); retry")
			e.RetryAfter = time.Second
			return nil, e
		}
		subj := release
		release = func() { rel(); subj() }
	}
	return release, nil
}

// history serves GET /v1/topics/{topic}/events?after=ID&limit=N.
func (s *server) history(w http.ResponseWriter, r *http.Request) error {
	topic, g, err := s.subscriber(r)
	if err != nil {
		return err
	}
	release, err := s.historySlot(g.Subject)
	if err != nil {
		return err
	}
	defer release()
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" {
		if err := checkID(after); err != nil {
			return Errorf(CodeBadCursor, http.StatusBadRequest, "after: %v", err)
		}
	}
	limit := DefaultHistoryLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("limit: want a whole number from 1 to %d", MaxHistoryLimit)
		}
		limit = min(n, MaxHistoryLimit)
	}
	page, err := s.Bus.History(r.Context(), topic, after, limit)
	if err != nil {
		s.countBusErr("history", err)
		return fmt.Errorf("history %s: %w", topic, err)
	}
	// The events are already JSON (encoded once at publish): splice them in
	// rather than decode and re-encode.
	n := 32
	for _, d := range page.Events {
		n += len(d.JSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"events":[`...)
	for i, d := range page.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d.JSON...)
	}
	b = append(b, `],"truncated":`...)
	b = strconv.AppendBool(b, page.Truncated)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, page.More)
	if page.More && after != "" && len(page.Events) > 0 {
		// Ids are [0-9-] only: no escaping needed.
		b = append(b, `,"next":"`...)
		b = append(b, page.Events[len(page.Events)-1].ID.String()...)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// The status is out; a failed write means the client went away.
	_, _ = w.Write(b)
	return nil
}

// markRead serves PUT /v1/topics/{topic}/read {"id":"..."}.
func (s *server) markRead(w http.ResponseWriter, r *http.Request) error {
	topic, g, err := s.subscriber(r)
	if err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	b, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := decodeStrict(b, &body); err != nil {
		return err
	}
	if body.ID == "" {
		return badRequest("id: required (the id of the last event read)")
	}
	if err := checkID(body.ID); err != nil {
		return Errorf(CodeBadCursor, http.StatusBadRequest, "id: %v", err)
	}
	if err := s.Bus.SetRead(r.Context(), g.Subject, topic, body.ID); err != nil {
		s.countBusErr("set_read", err)
		return fmt.Errorf("mark %s read: %w", topic, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unread serves GET /v1/topics/{topic}/unread.
func (s *server) unread(w http.ResponseWriter, r *http.Request) error {
	topic, g, err := s.subscriber(r)
	if err != nil {
		return err
	}
	u, err := s.Bus.Unread(r.Context(), g.Subject, topic)
	if err != nil {
		s.countBusErr("unread", err)
		return fmt.Errorf("unread %s: %w", topic, err)
	}
	return writeJSON(w, http.StatusOK, u)
}

// countBusErr counts backend failures (not caller mistakes).
func (s *server) countBusErr(op string, err error) {
	if bus.Retryable(err) {
		s.m.busErrors.WithLabelValues(op).Inc()
	}
}

// maxClockSkew is how far ahead of this node's clock an id may be (the
// hub's rule for subscribe cursors).
const maxClockSkew = 24 * time.Hour

// checkID parses a client-supplied event id and refuses one from the
// future: ids carry their publish time, so no bus issued it. A read
// cursor only moves forward, so accepting one would pin a reader's unread
// count at 0 for good.
func checkID(s string) error {
	id, err := event.ParseID(s)
	if err != nil {
		return err
	}
	if id.MS > uint64(time.Now().Add(maxClockSkew).UnixMilli()) {
		return fmt.Errorf("id %s is in the future", s)
	}
	return nil
}
