// Package hub is the relay's per-node fan-out: it admits connections, gives
// each one a bounded queue fed by its bus subscriptions, writes a
// connection only while there is something to write (on one long-lived
// writer per core shared by all connections, see writers.go), kicks
// clients that cannot keep up (they resume from their cursor), and sweeps
// heartbeats and token expiry on one shared ticker instead of a timer per
// connection. The transports (relay/sse, relay/ws) are thin Sinks over it.
//
// # Concurrency invariants (and the tests guarding them)
//
//   - One writer: a client's Sink is called by at most one goroutine at a
//     time, the writer chosen by the first enqueue into an empty queue: its
//     core's shard, or a goroutine of its own while the Sink is Stalled. It
//     lets go when the queue is empty, so an idle connection has no
//     goroutine (sse TestIdleStreamMemory: 0 goroutines per stream).
//   - A shard never waits for a peer: Sinks write without blocking
//     (relay/internal/nbconn) and report a backlog through Stalled, which
//     moves that client to its own writer until Flush wrote it
//     (TestStuckPeersDoNotBlockOthers, TestStalledClientIsFlushedAndReturns).
//   - Deliver never blocks: bus handlers only append under the client's
//     mutex. A queue over QueueSize live items kicks the client with
//     ReasonSlowConsumer and drops the queue; nothing is lost because the
//     client resumes from the cursor of the last event it received
//     (TestQueueOverflowKicksSlowConsumer; sse and ws
//     TestSlowConsumerKickedAndResumes).
//   - Replay is paced, not counted: history after a client's position is
//     fetched page by page (pages bounded in bytes by the bus) and the
//     next page waits until the writer took the previous one, so a long
//     replay neither kicks the client nor buffers the history: a peer that
//     does not read costs at most two pages (TestReplayIsPacedNotKicked,
//     TestReplayToNonReaderHoldsTwoPages, sse TestResumeWithCursor).
//   - Gap-free, duplicate-free resume: replay ends at the last id paged,
//     bus.Subscribe continues after exactly that id, and the ready/subscribed
//     cursor is computed by the writer after everything before it was
//     written (sse TestResumeWithCursor, TestUnpositionedTopicStartsAtLastID,
//     ws TestSubscribeWithCursorReplaysExactlyMissed).
//   - A closed client is finished exactly once, on its writer: the close
//     frame is written, bus subscriptions are closed (never from inside a
//     bus handler, which would deadlock) and the hub forgets it
//     (TestUnsubscribeReleasesBusSubscription, TestDrainStaggersAndRefuses).
//   - Drain refuses new connections first, then closes clients in batches
//     spread over the window (TestDrainStaggersAndRefuses,
//     TestDrainEndsEarlyWithContext, sse/ws drain tests).
//   - Lock order: Hub.mu before Client.mu before a shard's mu; the writer
//     holds none of them while calling the Sink's Write, Flush or Close.
package hub
