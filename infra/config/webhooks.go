package config

import "time"

// WebhookSource is one webhook sender configured under `sources:` in the
// config file (YAML only). infra/webhook compiles it (resolves the
// secrets, parses the templates) and reports errors naming the source and
// the key; see docs/webhooks.md for every provider with examples.
//
//	sources:
//	  - name: shop
//	    provider: shopify
//	    secrets: ["env:SHOPIFY_SECRET"]
//	    preset: shopify
type WebhookSource struct {
	// Name is the {source} in POST /hooks/{source} and the events' source:
	// 1-64 of [A-Za-z0-9_.-].
	Name string `yaml:"name"`
	// Provider is the signature scheme: stripe, github, shopify, standard
	// (Standard Webhooks), hmac (generic, see HMAC), bearer or basic.
	Provider string `yaml:"provider"`
	// Secrets are secret references (env:NAME, file:/path, aws-sm://id#key,
	// aws-ssm:///name) or literals. A delivery is accepted when it verifies
	// with any of them, so a secret is rotated by listing old and new. For
	// basic each secret is "user:password"; for standard "whsec_<base64>".
	Secrets []string `yaml:"secrets"`
	// Tolerance bounds the age (and the clock skew) of a signed timestamp
	// for the schemes that sign one (stripe, standard). Default 5m.
	Tolerance time.Duration `yaml:"tolerance"`
	// HMAC configures provider hmac.
	HMAC WebhookHMAC `yaml:"hmac"`
	// TypeHeader names a header carrying the event type (hmac, bearer,
	// basic). When empty the type is read from TypeField of the JSON body.
	TypeHeader string `yaml:"type_header"`
	// TypeField is the dotted path of the event type in the JSON body for
	// providers without their own (default "type"; alertmanager and grafana
	// presets use "status").
	TypeField string `yaml:"type_field"`
	// Preset adds built-in rules after Rules: shopify, stripe, github,
	// alertmanager or grafana.
	Preset string `yaml:"preset"`
	// AlertLabels (alertmanager, grafana presets) adds a topic
	// alerts:<value> for each listed label an alert carries, besides
	// alerts:<receiver>.
	AlertLabels []string `yaml:"alert_labels"`
	// Rules map a delivery to events; the first rule that matches wins,
	// then the preset's rules are tried.
	Rules []WebhookRule `yaml:"rules"`
	// MaxBodyBytes bounds a delivery's body (default: the server's
	// max_body_bytes, 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// WebhookHMAC configures the generic HMAC provider: the signature in Header
// is Prefix + Encoding(HMAC-Algorithm(secret, raw body)).
type WebhookHMAC struct {
	// Header carrying the signature (default X-Signature).
	Header string `yaml:"header"`
	// Algorithm: sha256 (default), sha1 or sha512.
	Algorithm string `yaml:"algorithm"`
	// Encoding: hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix before the encoded signature, e.g. "sha256=".
	Prefix string `yaml:"prefix"`
	// IDHeader names a header carrying a unique delivery id; without it the
	// delivery id is the SHA-256 of the body.
	IDHeader string `yaml:"id_header"`
}

// WebhookRule maps matching deliveries to events.
type WebhookRule struct {
	Match  WebhookMatch         `yaml:"match"`
	Events []WebhookEventMapper `yaml:"events"`
}

// WebhookMatch selects deliveries. Every condition given must hold; values
// are glob patterns (path.Match: "orders/*", "payment_intent.*").
type WebhookMatch struct {
	// Type matches the event type the provider reports.
	Type string `yaml:"type"`
	// Header matches request headers by name.
	Header map[string]string `yaml:"header"`
	// Field matches JSON body fields by dotted path ("data.object.status").
	Field map[string]string `yaml:"field"`
}

// WebhookEventMapper produces events from a matching delivery. Every field
// is a Go text/template over {{.Body}} (decoded JSON), {{.Headers}},
// {{.Type}}, {{.Source}} (and {{.Item}}, {{.Index}} with Each).
type WebhookEventMapper struct {
	// Each, when set, is the dotted path of a JSON array in the body: one
	// event per element, available as {{.Item}}.
	Each string `yaml:"each"`
	// Topic renders to exactly one topic (never split, so a payload value
	// cannot add topics); an empty result produces no event. Use several
	// events for several topics.
	Topic string `yaml:"topic"`
	// Type of the event (default: the delivery's type).
	Type string `yaml:"type"`
	// Data renders to a JSON value (default: the delivery's JSON body).
	Data string `yaml:"data"`
	// Title, Body and URL, when set, are added to an object Data as
	// "title", "body" and "url" for notifications.
	Title string `yaml:"title"`
	Body  string `yaml:"body"`
	URL   string `yaml:"url"`
}
