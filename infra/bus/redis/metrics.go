package redis

import "sync/atomic"

// Stats are the bus's monotonic counters. The package does not import a
// metrics library: the composition root exports these (for Prometheus, as
// CounterFuncs reading Bus.Stats) so infra/bus stays dependency-light.
type Stats struct {
	// Published and Duplicates count messages handled by the publish
	// script: appended, or answered with the original event.
	Published, Duplicates uint64
	// Errors counts failed Redis operations (publish, read, subscribe).
	Errors uint64
	// Resubscribes counts pub/sub connection losses and replacements
	// after which topics were re-read from their streams.
	Resubscribes uint64
	// Truncations counts Truncated signals given to subscriptions.
	Truncations uint64
	// PublishPipelines counts round trips that carried publish scripts;
	// Published+Duplicates over it is the mean batch of shared round trips.
	PublishPipelines uint64
	// PublishCalls counts publish script calls (concurrent publishes share
	// them, see calls.go); Published+Duplicates over it is the mean
	// messages per call.
	PublishCalls uint64
	// ReplayRequests counts (Subscribe call, topic) replays asked for;
	// ReplayReads the stream reads that served them (shared per topic
	// among calls starting together).
	ReplayRequests, ReplayReads uint64
	// HistoryRequests counts History calls after a position;
	// HistoryReads the stream reads that served them (shared per topic
	// among concurrent calls, coalesce.go).
	HistoryRequests, HistoryReads uint64
	// LatestRequests counts History calls without a position (a new
	// connection resolving where it starts); LatestReads the reads that
	// served them (shared per topic among concurrent calls, coalesce.go).
	LatestRequests, LatestReads uint64
	// PoolTimeouts counts calls that waited past the pool timeout for a
	// connection (returned as bus.ErrBusy; also counted in Errors).
	PoolTimeouts uint64
	// NotReplicated counts messages refused with ErrUnavailable because
	// fewer than WaitReplicas replicas acknowledged them in time.
	NotReplicated uint64
}

type metrics struct {
	published, duplicates, errors, resubscribes, truncations, pipelines atomic.Uint64
	scriptCalls                                                         atomic.Uint64
	replayRequests, replayReads, historyRequests, historyReads          atomic.Uint64
	notReplicated, latestRequests, latestReads, poolTimeouts            atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (b *Publisher) Stats() Stats {
	m := &b.metrics
	return Stats{
		Published:        m.published.Load(),
		Duplicates:       m.duplicates.Load(),
		Errors:           m.errors.Load(),
		Resubscribes:     m.resubscribes.Load(),
		Truncations:      m.truncations.Load(),
		PublishPipelines: m.pipelines.Load(),
		PublishCalls:     m.scriptCalls.Load(),

		ReplayRequests:  m.replayRequests.Load(),
		ReplayReads:     m.replayReads.Load(),
		HistoryRequests: m.historyRequests.Load(),
		HistoryReads:    m.historyReads.Load(),
		NotReplicated:   m.notReplicated.Load(),
		LatestRequests:  m.latestRequests.Load(),
		LatestReads:     m.latestReads.Load(),
		PoolTimeouts:    m.poolTimeouts.Load(),
	}
}
