package api

import (
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
)

// PublishPolicy bounds what token publishers (browsers) may cost; API keys
// are trusted backends and keep the plain publish rate.
type PublishPolicy struct {
	// TokenLimit rate-limits token publishers per subject, one token per
	// event, instead of Deps.PublishLimit (HOOKRELAY_TOKEN_PUBLISH_RATE).
	TokenLimit Limiter
	// TokenDedupTTL is how long a token publisher's idempotency keys live
	// (HOOKRELAY_TOKEN_DEDUP_TTL); 0 means the bus's dedup_ttl.
	TokenDedupTTL time.Duration
	// TokenTopics caps the distinct topics a token subject may publish to
	// per hour (HOOKRELAY_TOKEN_TOPICS_PER_HOUR); nil means unlimited.
	TokenTopics interface {
		Allow(key string, topics ...string) bool
	}
}

// scope applies the per-publisher rules to msgs: idempotency keys are
// namespaced by the publisher (L1), and a token publisher's keys live
// TokenDedupTTL (M2). It returns the limiter and key to charge.
func (s *server) scope(p *publisher, msgs []bus.Message) (Limiter, string) {
	for i := range msgs {
		msgs[i].IdempotencyKey = bus.ScopedKey(p.key, msgs[i].IdempotencyKey)
		if !p.apiKey {
			msgs[i].DedupTTL = s.Policy.TokenDedupTTL
		}
	}
	if p.apiKey || s.Policy.TokenLimit == nil {
		return s.PublishLimit, p.key
	}
	return s.Policy.TokenLimit, p.key
}

// MaxTokenIdempotencyKeyLen bounds a token publisher's idempotency keys
// (API keys keep bus.MaxIdempotencyKeyLen, 200). Browsers need keys only
// for retries: a UUID is 36 bytes, a hex SHA-256 64. Every live key is a
// Redis key for token_dedup_ttl (M2 of the 2026-12 review), so a shorter
// key takes about a third off a subject's worst case.
const MaxTokenIdempotencyKeyLen = 64

// tokenRules checks what only token publishers are held to, before their
// keys are scoped: idempotency key length and the distinct-topic budget.
func (s *server) tokenRules(p *publisher, msgs []bus.Message) error {
	if p.apiKey {
		return nil
	}
	for i, m := range msgs {
		if len(m.IdempotencyKey) > MaxTokenIdempotencyKeyLen {
			return badRequest("idempotency_key of event %d: longer than %d bytes (the limit for token publishers)", i, MaxTokenIdempotencyKeyLen)
		}
	}
	return s.newTopicsAllowed(p, msgs)
}

// newTopicsAllowed checks a token publisher's distinct-topic budget.
func (s *server) newTopicsAllowed(p *publisher, msgs []bus.Message) error {
	if p.apiKey || s.Policy.TokenTopics == nil {
		return nil
	}
	topics := make([]string, len(msgs))
	for i, m := range msgs {
		topics[i] = m.Topic
	}
	if !s.Policy.TokenTopics.Allow(p.key, topics...) {
		return RateLimited(time.Minute, "this subject published to too many distinct topics this hour (HOOKRELAY_TOKEN_TOPICS_PER_HOUR)")
	}
	return nil
}

// tokenPublisher is the publisher of a token holder.
func tokenPublisher(g *auth.Grants) *publisher {
	return &publisher{key: auth.TokenSubjectPrefix + g.Subject, grants: g}
}
