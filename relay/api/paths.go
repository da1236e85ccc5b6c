// Package api holds the relay's HTTP routes: publish, history, read cursors,
// health, readiness and metrics, plus the one error catalogue every route
// renders through.
package api

// Route paths. They are part of the operator interface: the load balancer
// health check (Terraform), the browser client and the contract tests import
// them instead of repeating string literals.
const (
	// HealthzPath answers 200 while the process is alive.
	HealthzPath = "/healthz"
	// ReadyzPath answers 200 while the relay accepts new connections and 503
	// while draining, while the bus is unavailable or when over capacity.
	ReadyzPath = "/readyz"
	// MetricsPath serves Prometheus metrics.
	MetricsPath = "/metrics"
	// SSEPath is the Server-Sent Events subscribe endpoint.
	SSEPath = "/v1/sse"
	// WSPath is the WebSocket endpoint.
	WSPath = "/v1/ws"
	// PublishPath accepts single or batched events from servers.
	PublishPath = "/v1/publish"
	// TopicsPrefix prefixes the per-topic routes (history, read, unread).
	TopicsPrefix = "/v1/topics/"
	// HooksPrefix prefixes the webhook endpoint POST /hooks/{source}.
	HooksPrefix = "/hooks/"
	// DemoTokenPath mints a demo subscriber token (relay dev only).
	DemoTokenPath = "/demo/token"
	// DemoSimulatePath sends a signed sample webhook through the pipeline (relay dev only).
	DemoSimulatePath = "/demo/simulate"
)
