// Package hostile throws hostile and broken input at one real relay process
// (relay serve on a real redis-server) and checks two things for every
// case: the exact answer (status + error code, WebSocket error frame or
// close code), and that the relay keeps serving everyone else — a control
// SSE subscriber, connected throughout, receives a control event published
// after every case, each exactly once.
//
// TestCostBounds and TestPageCost measure what the cost attacks of the
// 2026-12 review cost under the relay's limits (docs/security.md, "Cost
// bounds"); the attacks run in a separate process, TestAttacker.
package hostile
