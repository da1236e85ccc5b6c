package bus

import "time"

// Options shared by the implementations. Zero values mean the defaults.
type Options struct {
	// HistoryLen bounds each topic's retained history (approximately, for
	// Redis MAXLEN ~). Default 1000.
	HistoryLen int
	// HistoryTTL expires a topic's history this long after its last
	// publish. Default 7 days.
	HistoryTTL time.Duration
	// DedupTTL is how long an idempotency key is remembered. Default 24h.
	DedupTTL time.Duration
	// MaxEventBytes bounds one event's JSON encoding. Default 64 KiB.
	MaxEventBytes int
	// HistoryPageBytes bounds one history or replay page in bytes as well
	// as in events: a page stops before the event that would pass it (the
	// first event is always returned). Default 256 KiB.
	HistoryPageBytes int
}

// Defaults applied by WithDefaults.
const (
	DefaultHistoryLen       = 1000
	DefaultHistoryTTL       = 7 * 24 * time.Hour
	DefaultDedupTTL         = 24 * time.Hour
	DefaultMaxEventBytes    = 64 << 10
	DefaultHistoryPageBytes = 256 << 10
)

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.HistoryLen <= 0 {
		o.HistoryLen = DefaultHistoryLen
	}
	if o.HistoryTTL <= 0 {
		o.HistoryTTL = DefaultHistoryTTL
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = DefaultDedupTTL
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.HistoryPageBytes <= 0 {
		o.HistoryPageBytes = DefaultHistoryPageBytes
	}
	return o
}
