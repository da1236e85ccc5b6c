// Package chaos is hookrelay's fault-injection suite: a real redis-server,
// three relay processes, a webhook sender and a few hundred subscribers
// (relay/client, SSE and WebSocket) under steady load while relays are
// killed, drained and restarted, Redis is restarted or stalled, network
// paths are slowed and consumers fall behind. Every scenario ends with the
// same check: every subscriber received every accepted event of its topics
// exactly once and in per-topic order, or an explicit truncated signal
// where the system documents a loss (docs/reliability.md).
//
// The package holds only the small pieces the tests need that relaytest
// does not have: a round-robin load balancer with health checks (LB), a
// TCP proxy that pauses, cuts and throttles traffic (FaultProxy) and
// process sampling for the soak test. Short scenarios run in plain go test;
// HOOKRELAY_CHAOS=full runs longer ones with more subscribers, and
// HOOKRELAY_SOAK=<duration> runs TestSoak.
package chaos
