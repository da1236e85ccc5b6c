package webhook

import (
	"fmt"
	"strconv"

	"github.com/hookrelay/hookrelay/infra/config"
)

// Presets are ordinary rules (the same templates a config file can hold),
// built here so docs/webhooks.md can show exactly what they do. Rules are
// tried in order and the first match wins, so specific matches come first.

type ev = config.WebhookEventMapper

func presetRules(src config.WebhookSource) ([]config.WebhookRule, error) {
	switch src.Preset {
	case "shopify":
		return shopifyRules(), nil
	case "stripe":
		return stripeRules(), nil
	case "github":
		return githubRules(), nil
	case "alertmanager", "grafana":
		return alertRules(src.Preset, src.AlertLabels), nil
	}
	return nil, fmt.Errorf("preset: %q is not one of shopify, stripe, github, alertmanager, grafana", src.Preset)
}

// Shopify: orders/* -> order:<id> (+ customer:<customer.id>),
// fulfillments/* and fulfillment_events/* -> order:<order_id>. Shopify's
// ids are 64-bit integers, which JavaScript's JSON.parse rounds
// (820982911981058870 becomes 820982911981058800), so the data carries
// them as strings (null when absent).
const (
	shopifyOrderTopic    = `order:{{.Body.id}}`
	shopifyCustomerTopic = `{{with get "customer.id" .Body}}customer:{{.}}{{end}}`
	shopifyOrderData     = `{"order_id":{{with .Body.id}}{{json (str .)}}{{else}}null{{end}},"name":{{json .Body.name}},"email":{{json .Body.email}},` +
		`"financial_status":{{json .Body.financial_status}},"fulfillment_status":{{json .Body.fulfillment_status}},` +
		`"total_price":{{json .Body.total_price}},"currency":{{json .Body.currency}},"shopify_topic":{{json .Type}}}`
	shopifyOrderBody = `{{with .Body.total_price}}{{.}} {{end}}{{.Body.currency}}`
	shopifyURL       = `{{.Body.order_status_url}}`

	shopifyFulfillmentTopic = `{{with .Body.order_id}}order:{{.}}{{end}}`
	shopifyFulfillmentData  = `{"order_id":{{with .Body.order_id}}{{json (str .)}}{{else}}null{{end}},` +
		`"fulfillment_id":{{with .Body.id}}{{json (str .)}}{{else}}null{{end}},` +
		`"status":{{json .Body.status}},"shipment_status":{{json .Body.shipment_status}},` +
		`"tracking_company":{{json .Body.tracking_company}},"tracking_number":{{json .Body.tracking_number}},` +
		`"tracking_url":{{json .Body.tracking_url}},"shopify_topic":{{json .Type}}}`
	shopifyTracking = `{{with .Body.tracking_company}}{{.}} {{end}}{{.Body.tracking_number}}`

	shopifyEventTopic = `{{with .Body.order_id}}order:{{.}}{{end}}`
	shopifyEventData  = `{"order_id":{{with .Body.order_id}}{{json (str .)}}{{else}}null{{end}},` +
		`"fulfillment_id":{{with .Body.fulfillment_id}}{{json (str .)}}{{else}}null{{end}},` +
		`"status":{{json .Body.status}},"message":{{json .Body.message}},"happened_at":{{json .Body.happened_at}},` +
		`"city":{{json .Body.city}},"country":{{json .Body.country}},"estimated_delivery_at":{{json .Body.estimated_delivery_at}},` +
		`"shopify_topic":{{json .Type}}}`
)

func shopifyRules() []config.WebhookRule {
	var rs []config.WebhookRule
	orders := []struct{ topic, typ, verb string }{
		{"orders/create", "order.created", "received"},
		{"orders/paid", "order.paid", "paid"},
		{"orders/fulfilled", "order.shipped", "shipped"},
		{"orders/partially_fulfilled", "order.partially_shipped", "partially shipped"},
		{"orders/cancelled", "order.cancelled", "cancelled"},
		{"orders/updated", "order.updated", "updated"},
		{"orders/edited", "order.edited", "edited"},
	}
	for _, o := range orders {
		e := ev{Topic: shopifyOrderTopic, Type: o.typ, Data: shopifyOrderData,
			Title: `Order {{.Body.name}} ` + o.verb, Body: shopifyOrderBody, URL: shopifyURL}
		c := e
		c.Topic = shopifyCustomerTopic
		rs = append(rs, config.WebhookRule{Match: config.WebhookMatch{Type: o.topic}, Events: []ev{e, c}})
	}
	// Fulfillment updates carry the carrier's shipment_status.
	shipment := []struct{ status, typ, title string }{
		{"out_for_delivery", "order.out_for_delivery", "out for delivery"},
		{"delivered", "order.delivered", "delivered"},
		{"attempted_delivery", "order.delivery_attempted", "delivery attempted"},
		{"in_transit", "order.in_transit", "in transit"},
		{"failure", "order.delivery_failed", "delivery failed"},
	}
	for _, s := range shipment {
		rs = append(rs, config.WebhookRule{
			Match: config.WebhookMatch{Type: "fulfillments/*", Field: map[string]string{"shipment_status": s.status}},
			Events: []ev{{Topic: shopifyFulfillmentTopic, Type: s.typ, Data: shopifyFulfillmentData,
				Title: "Your order is " + s.title, Body: shopifyTracking, URL: `{{.Body.tracking_url}}`}},
		})
		rs = append(rs, config.WebhookRule{
			Match: config.WebhookMatch{Type: "fulfillment_events/*", Field: map[string]string{"status": s.status}},
			Events: []ev{{Topic: shopifyEventTopic, Type: s.typ, Data: shopifyEventData,
				Title: "Your order is " + s.title, Body: `{{.Body.message}}`}},
		})
	}
	rs = append(rs,
		config.WebhookRule{
			Match: config.WebhookMatch{Type: "fulfillments/create"},
			Events: []ev{{Topic: shopifyFulfillmentTopic, Type: "order.shipped", Data: shopifyFulfillmentData,
				Title: "Your order has shipped", Body: shopifyTracking, URL: `{{.Body.tracking_url}}`}},
		},
		config.WebhookRule{
			Match: config.WebhookMatch{Type: "fulfillments/*"},
			Events: []ev{{Topic: shopifyFulfillmentTopic, Type: "order.fulfillment_updated", Data: shopifyFulfillmentData,
				Title: "Shipping update", Body: shopifyTracking, URL: `{{.Body.tracking_url}}`}},
		},
		config.WebhookRule{
			Match: config.WebhookMatch{Type: "fulfillment_events/*"},
			Events: []ev{{Topic: shopifyEventTopic, Type: `order.{{seg .Body.status}}`, Data: shopifyEventData,
				Title: `Shipping update: {{replace "_" " " .Body.status}}`, Body: `{{.Body.message}}`}},
		},
	)
	return rs
}

// Stripe: payment_intent.* and charge.* -> payment:<payment intent id>
// (+ customer:<id>); the type stays Stripe's (payment_intent.succeeded).
const (
	stripePaymentID     = `{{with .Body.data.object}}{{if eq (str .object) "charge"}}{{coalesce .payment_intent .id}}{{else}}{{.id}}{{end}}{{end}}`
	stripeTopic         = `payment:` + stripePaymentID
	stripeCustomerTopic = `{{with get "data.object.customer" .Body}}customer:{{seg (coalesce (get "id" .) .)}}{{end}}`
	stripeData          = `{{with .Body.data.object}}{"id":{{json .id}},"object":{{json .object}},"payment_intent":{{json .payment_intent}},` +
		`"amount":{{json .amount}},"currency":{{json .currency}},"status":{{json .status}},` +
		`"customer":{{json .customer}},"description":{{json .description}}}{{end}}`
	stripeTitle = `Payment {{.Type | trimPrefix "payment_intent." | trimPrefix "charge." | replace "payment_" "" | replace "_" " " | replace "." " "}}`
	stripeBody  = `{{with .Body.data.object}}{{money .amount .currency}}{{with .description}} · {{.}}{{end}}{{end}}`
	stripeURL   = `https://dashboard.stripe.com/{{if not .Body.livemode}}test/{{end}}payments/` + stripePaymentID
)

func stripeRules() []config.WebhookRule {
	var rs []config.WebhookRule
	for _, t := range []string{"payment_intent.*", "charge.*"} {
		e := ev{Topic: stripeTopic, Data: stripeData, Title: stripeTitle, Body: stripeBody, URL: stripeURL}
		c := e
		c.Topic = stripeCustomerTopic
		rs = append(rs, config.WebhookRule{Match: config.WebhookMatch{Type: t}, Events: []ev{c, e}})
	}
	return rs
}

// GitHub: push, pull_request and workflow_run -> repo:<owner>:<name>. The
// '/' of full_name becomes the topic separator ':' (owner and repository
// names only use topic characters), so a grant "repo:acme:*" covers every
// repository of acme.
const githubTopic = `{{with get "repository.full_name" .Body}}repo:{{replace "/" ":" .}}{{end}}`

func githubRules() []config.WebhookRule {
	return []config.WebhookRule{
		{
			Match: config.WebhookMatch{Type: "push"},
			Events: []ev{{Topic: githubTopic, Type: "push",
				Data: `{"ref":{{json .Body.ref}},"before":{{json .Body.before}},"after":{{json .Body.after}},` +
					`"repository":{{json (get "repository.full_name" .Body)}},"pusher":{{json (get "pusher.name" .Body)}},` +
					`"commits":{{with .Body.commits}}{{len .}}{{else}}0{{end}},"head_commit":{{json (get "head_commit.message" .Body)}}}`,
				Title: `{{get "pusher.name" .Body}} pushed to {{trimPrefix "refs/heads/" .Body.ref}}`,
				Body:  `{{get "head_commit.message" .Body}}`,
				URL:   `{{.Body.compare}}`}},
		},
		{
			Match: config.WebhookMatch{Type: "pull_request"},
			Events: []ev{{Topic: githubTopic, Type: `pull_request.{{.Body.action}}`,
				Data: `{{with .Body.pull_request}}{"number":{{json .number}},"title":{{json .title}},"state":{{json .state}},` +
					`"merged":{{json .merged}},"user":{{json (get "user.login" .)}}}{{end}}`,
				Title: `PR #{{get "pull_request.number" .Body}} {{.Body.action}}: {{get "pull_request.title" .Body}}`,
				Body:  `{{get "pull_request.user.login" .Body}}`,
				URL:   `{{get "pull_request.html_url" .Body}}`}},
		},
		{
			Match: config.WebhookMatch{Type: "workflow_run"},
			Events: []ev{{Topic: githubTopic, Type: `workflow_run.{{.Body.action}}`,
				Data: `{{with .Body.workflow_run}}{"name":{{json .name}},"status":{{json .status}},"conclusion":{{json .conclusion}},` +
					`"head_branch":{{json .head_branch}},"run_number":{{json .run_number}}}{{end}}`,
				Title: `{{get "workflow_run.name" .Body}} {{coalesce (get "workflow_run.conclusion" .Body) (get "workflow_run.status" .Body)}}`,
				Body:  `{{get "workflow_run.head_branch" .Body}} · {{get "workflow_run.display_title" .Body}}`,
				URL:   `{{get "workflow_run.html_url" .Body}}`}},
		},
	}
}

// Alertmanager (webhook v4) and Grafana (same shape plus extras): one event
// per alert -> alerts:<receiver> plus alerts:<value> for each configured
// label the alert carries; type alert.firing or alert.resolved.
func alertRules(preset string, labels []string) []config.WebhookRule {
	topics := []string{`{{with .Body.receiver}}alerts:{{seg .}}{{end}}`}
	for _, l := range labels {
		topics = append(topics, `{{with get "labels" .Item}}{{with index . `+strconv.Quote(l)+`}}alerts:{{seg .}}{{end}}{{end}}`)
	}
	url := `{{coalesce (get "generatorURL" .Item) (get "externalURL" .Body)}}`
	if preset == "grafana" {
		url = `{{coalesce (get "panelURL" .Item) (get "dashboardURL" .Item) (get "generatorURL" .Item) (get "externalURL" .Body)}}`
	}
	e := ev{
		Each: "alerts",
		Type: `{{if eq (str (get "status" .Item)) "resolved"}}alert.resolved{{else}}alert.firing{{end}}`,
		Data: `{"status":{{json (get "status" .Item)}},"labels":{{json (get "labels" .Item)}},` +
			`"annotations":{{json (get "annotations" .Item)}},"startsAt":{{json (get "startsAt" .Item)}},` +
			`"endsAt":{{json (get "endsAt" .Item)}},"fingerprint":{{json (get "fingerprint" .Item)}},` +
			`"receiver":{{json .Body.receiver}}}`,
		Title: `[{{upper (get "status" .Item)}}] {{coalesce (get "labels.alertname" .Item) "alert"}}`,
		Body:  `{{coalesce (get "annotations.summary" .Item) (get "annotations.description" .Item) (get "annotations.message" .Item)}}`,
		URL:   url,
	}
	events := make([]ev, len(topics))
	for i, t := range topics {
		events[i] = e
		events[i].Topic = t
	}
	return []config.WebhookRule{{Events: events}}
}
