package app

import (
	"time"

	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/limit"
	"github.com/hookrelay/hookrelay/relay/api"
)

// wireCosts sets the per-request cost bounds of docs/security.md on the
// API routes: read rate, history concurrency, token publish policy, and
// the refused-webhook limit on /hooks.
func (a *App) wireCosts(d *api.Deps, tokenLim *limit.Keyed, topics *limit.Topics) {
	cfg := a.cfg
	if cfg.ReadRate > 0 {
		d.ReadLimit = limit.NewKeyed(cfg.ReadRate, cfg.ReadBurst, publishLimitIdle)
	}
	if cfg.HistoryConcurrencyPerSubj > 0 {
		d.HistorySubjectSlots = limit.NewConcurrent(cfg.HistoryConcurrencyPerSubj)
	}
	if cfg.HistoryConcurrency > 0 {
		d.HistoryNodeSlots = limit.NewConcurrent(cfg.HistoryConcurrency)
	}
	if cfg.WebhookFailureRate > 0 {
		d.HookFailures = limit.NewKeyed(cfg.WebhookFailureRate, cfg.WebhookFailureBurst, publishLimitIdle)
	}
	d.Policy.TokenDedupTTL = cfg.TokenDedupTTL
	if tokenLim != nil {
		d.Policy.TokenLimit = tokenLim // a nil *Keyed in the interface would not be nil
	}
	if topics != nil {
		d.Policy.TokenTopics = topics
	}
}

// tokenLimit is the token publishers' bucket set: its own rate when
// token_publish_rate is set, else fallback (publish_rate's).
func tokenLimit(cfg *config.Config, fallback *limit.Keyed) *limit.Keyed {
	if cfg.TokenPublishRate > 0 {
		return limit.NewKeyed(cfg.TokenPublishRate, cfg.TokenPublishBurst, publishLimitIdle)
	}
	return fallback
}

// tokenTopics is the distinct-topics cap of token publishers (nil: off).
func tokenTopics(cfg *config.Config) *limit.Topics {
	if cfg.TokenTopicsPerHour <= 0 {
		return nil
	}
	return limit.NewTopics(cfg.TokenTopicsPerHour, time.Hour)
}

// topicsFunc adapts it to ws.Options.NewTopics (nil: unlimited).
func topicsFunc(t *limit.Topics) func(string, ...string) bool {
	if t == nil {
		return nil
	}
	return t.Allow
}
