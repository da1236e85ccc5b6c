// Package interop holds hookrelay's interop suite (interop_test.go): real
// third-party clients — npm eventsource (current major and the one
// before), @microsoft/fetch-event-source and ws, pinned in
// testdata/package.json and installed by make deps, plus Chromium's own
// EventSource and WebSocket (through chromedp) — against real relay
// processes and a real redis-server, across a SIGKILL restart, a drain of
// a single relay, a drain of one relay of three behind a load balancer, a
// connection cap reached then freed, and a Redis restart. Every client
// must end with every event exactly once, in order, and none may give up.
// A short run is part of make test; HOOKRELAY_INTEROP=full (make interop)
// runs more clients and events.
package interop
