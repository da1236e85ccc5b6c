package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hookrelay/hookrelay/infra/presence"
)

// presenceSuffix is the members route under TopicsPrefix + "{topic}".
const presenceSuffix = "/presence"

// Presence page sizes.
const (
	DefaultPresenceLimit = 100
	MaxPresenceLimit     = presence.MaxPageLimit
)

// PresenceReader serves the members of presence topics
// (*relay/presence.Tracker implements it).
type PresenceReader interface {
	Enabled(topic string) bool
	Members(ctx context.Context, topic, after string, limit int) (presence.Page, error)
}

// presenceAnswer is the body of GET /v1/topics/{topic}/presence.
type presenceAnswer struct {
	Topic     string            `json:"topic"`
	Count     int               `json:"count"`
	CountOnly bool              `json:"count_only"`
	Members   []presence.Member `json:"members"`
	Next      string            `json:"next,omitempty"`
}

// presence serves GET /v1/topics/{topic}/presence?after=SUB&limit=N: who
// is online, to those allowed to subscribe to the topic.
func (s *server) presence(w http.ResponseWriter, r *http.Request) error {
	topic, _, err := s.subscriber(r)
	if err != nil {
		return err
	}
	if s.Presence == nil || !s.Presence.Enabled(topic) {
		return Errorf(CodeNotFound, http.StatusNotFound, "presence is not enabled for topic %q (HOOKRELAY_PRESENCE_TOPICS)", topic)
	}
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" {
		if err := presence.ValidateSub(after); err != nil {
			return badRequest("after: want the next value of the previous page: %v", err)
		}
	}
	limit := DefaultPresenceLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("limit: want a whole number from 1 to %d", MaxPresenceLimit)
		}
		limit = min(n, MaxPresenceLimit)
	}
	p, err := s.Presence.Members(r.Context(), topic, after, limit)
	if errors.Is(err, presence.ErrUnavailable) {
		s.m.busErrors.WithLabelValues("presence").Inc()
		return &Error{Code: CodeBusUnavailable, Status: http.StatusServiceUnavailable,
			Message: "presence store unavailable; retry", RetryAfter: BusRetryAfter, Cause: err}
	}
	if err != nil {
		return fmt.Errorf("presence of %s: %w", topic, err)
	}
	if p.Members == nil {
		p.Members = []presence.Member{}
	}
	return writeJSON(w, http.StatusOK, presenceAnswer{Topic: topic, Count: p.Count, CountOnly: p.CountOnly, Members: p.Members, Next: p.Next})
}
