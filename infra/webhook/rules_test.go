package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"

	"github.com/hookrelay/hookrelay/infra/bus"
)

func TestCustomRules(t *testing.T) {
	src := config.WebhookSource{
		Name: "acme", Provider: "hmac", Secrets: []string{"k"}, TypeHeader: "X-Acme-Event",
		HMAC: config.WebhookHMAC{Header: "X-Acme-Signature", Prefix: "sha256=", IDHeader: "X-Acme-Delivery"},
		Rules: []config.WebhookRule{
			{
				Match: config.WebhookMatch{Type: "ticket.*", Header: map[string]string{"x-acme-env": "prod"}, Field: map[string]string{"ticket.priority": "p[12]"}},
				Events: []config.WebhookEventMapper{
					{Topic: `ticket:{{.Body.ticket.id}}`, Type: `{{.Type | lower}}`,
						Data:  `{"id":{{json .Body.ticket.id}},"who":{{json (index .Headers "X-Acme-User")}},"src":{{json .Source}}}`,
						Title: `Ticket {{.Body.ticket.id}} ({{upper .Body.ticket.priority}})`},
					{Each: "ticket.watchers", Topic: `user:{{seg .Item}}`, Type: "ticket.watch", Data: `{"i":{{.Index}}}`},
				},
			},
			{Match: config.WebhookMatch{Type: "ticket.*"}, Events: []config.WebhookEventMapper{{Topic: "tickets:low"}}},
		},
	}
	f := newFixture(t, src)
	post := func(typ, env, body string) answer {
		return f.post(t, "acme", []byte(body), map[string]string{
			"X-Acme-Signature": SignHMAC("k", "sha256", "hex", "sha256=", []byte(body)),
			"X-Acme-Event":     typ, "X-Acme-Env": env, "X-Acme-User": "ann", "X-Acme-Delivery": "del-" + typ + env,
		})
	}
	a := post("Ticket.Created", "prod", `{"ticket":{"id":77,"priority":"p1","watchers":["bob smith","eve@example.com"]}}`)
	// Type globs are case-sensitive: "Ticket.Created" is not "ticket.*".
	if a.Status != 202 {
		t.Fatalf("case: %d %s", a.Status, a.Raw)
	}
	a = post("ticket.created", "prod", `{"ticket":{"id":77,"priority":"p1","watchers":["bob smith","eve@example.com"]}}`)
	if got := strings.Join(topicsOf(a), " "); a.Status != 200 || got != "ticket:77 user:bob-smith user:eve@example.com" {
		t.Fatalf("got %d %q %s", a.Status, got, a.Raw)
	}
	e := f.history(t, "ticket:77")[0]
	d := e["data"].(map[string]any)
	if e["type"] != "ticket.created" || d["who"] != "ann" || d["src"] != "acme" || d["title"] != "Ticket 77 (P1)" {
		t.Errorf("event %v", e)
	}
	if d := f.history(t, "user:eve@example.com")[0]["data"].(map[string]any); d["i"] != 1.0 {
		t.Errorf("each index: %v", d)
	}
	// Low priority or another environment falls through to the second rule.
	for _, c := range [][2]string{{"prod", `{"ticket":{"id":78,"priority":"p3"}}`}, {"dev", `{"ticket":{"id":79,"priority":"p1"}}`}} {
		if a := post("ticket.updated", c[0], c[1]); a.Status != 200 || topicsOf(a)[0] != "tickets:low" {
			t.Errorf("%v: %d %s", c, a.Status, a.Raw)
		}
	}
	// A payload value cannot add topics or break out of its segment.
	a = post("ticket.created", "prod", `{"ticket":{"id":"1 admin:all","priority":"p1"}}`)
	if a.Status != 400 || len(f.history(t, "admin:all")) != 0 {
		t.Errorf("injection: %d %s", a.Status, a.Raw)
	}
	// Missing field used in a topic: mapping error, not "<no value>".
	a = post("ticket.created", "prod", `{"ticket":{"priority":"p1"}}`)
	if a.Status != 400 || a.Error.Code != "bad_request" {
		t.Errorf("missing: %d %s", a.Status, a.Raw)
	}
}

func TestDefaultsDataAndType(t *testing.T) {
	src := config.WebhookSource{Name: "std", Provider: "standard", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Rules: []config.WebhookRule{{Events: []config.WebhookEventMapper{{Topic: "invoice:{{.Body.data.id}}", URL: "https://x/{{.Body.data.id}}"}}}}}
	f := newFixture(t, src)
	body := []byte(`{"type":"invoice.paid","timestamp":"2026-11-23T09:30:00Z","data":{"id":"in_1","amount":12345678901234567890}}`)
	a := f.post(t, "std", body, map[string]string{"webhook-id": "msg_9", "webhook-timestamp": "1795426200",
		"webhook-signature": SignStandard(src.Secrets[0], "msg_9", testNow, body)})
	if a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	page, err := f.bus.History(context.Background(), "invoice:in_1", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(page.Events[0].JSON)
	for _, want := range []string{`"type":"invoice.paid"`, `"amount":12345678901234567890`, `"url":"https://x/in_1"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("event lacks %s: %s", want, raw)
		}
	}
}

func TestNewErrors(t *testing.T) {
	ok := config.WebhookSource{Name: "ok", Provider: "github", Secrets: []string{"s"}, Preset: "github"}
	resolve := func(_ context.Context, ref string) (string, error) {
		if ref == "env:MISSING" {
			return "", errors.New("env:MISSING: not set")
		}
		return strings.TrimPrefix(ref, "env:"), nil
	}
	cases := []struct {
		name string
		mod  func(*config.WebhookSource)
		want string
	}{
		{"bad name", func(s *config.WebhookSource) { s.Name = "a/b" }, `sources[1] ("a/b"): name`},
		{"provider", func(s *config.WebhookSource) { s.Provider = "paypal" }, `sources[1] ("x"): provider: "paypal"`},
		{"no secrets", func(s *config.WebhookSource) { s.Secrets = nil }, `sources[1] ("x"): secrets`},
		{"unresolvable", func(s *config.WebhookSource) { s.Secrets = []string{"env:A", "env:MISSING"} }, `sources[1] ("x"): secrets[1]: env:MISSING`},
		{"standard secret", func(s *config.WebhookSource) { s.Provider = "standard"; s.Secrets = []string{"whsec_!!"} }, `secrets[0]: want whsec_<base64>`},
		{"basic secret", func(s *config.WebhookSource) { s.Provider = "basic"; s.Secrets = []string{"nocolon"} }, `secrets[0]: want user:password`},
		{"hmac algorithm", func(s *config.WebhookSource) { s.Provider = "hmac"; s.HMAC.Algorithm = "md5" }, `hmac.algorithm`},
		{"hmac encoding", func(s *config.WebhookSource) { s.Provider = "hmac"; s.HMAC.Encoding = "b32" }, `hmac.encoding`},
		{"preset", func(s *config.WebhookSource) { s.Preset = "paypal" }, `preset: "paypal"`},
		{"no rules", func(s *config.WebhookSource) { s.Preset = "" }, `rules: none`},
		{"template", func(s *config.WebhookSource) {
			s.Rules = []config.WebhookRule{{Events: []config.WebhookEventMapper{{Topic: "x:{{.Body.id"}}}}
		}, `rules[0].events[0].topic`},
		{"no topic", func(s *config.WebhookSource) {
			s.Rules = []config.WebhookRule{{Events: []config.WebhookEventMapper{{Type: "x"}}}}
		}, `rules[0].events[0].topic: required`},
		{"no events", func(s *config.WebhookSource) { s.Rules = []config.WebhookRule{{}} }, `rules[0].events`},
		{"glob", func(s *config.WebhookSource) {
			s.Rules = []config.WebhookRule{{Match: config.WebhookMatch{Type: "[x"}, Events: []config.WebhookEventMapper{{Topic: "a"}}}}
		}, `rules[0].match.type`},
		{"duplicate", func(s *config.WebhookSource) { s.Name = "ok" }, `sources[1] ("ok"): name: used twice`},
	}
	for _, c := range cases {
		src := config.WebhookSource{Name: "x", Provider: "github", Secrets: []string{"s"}, Preset: "github"}
		c.mod(&src)
		_, err := New(context.Background(), []config.WebhookSource{ok, src}, memory.New(bus.Options{}), Options{Resolve: resolve})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to contain %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "nocolon") {
			t.Errorf("%s: error shows a secret: %v", c.name, err)
		}
	}
}

func TestFuncs(t *testing.T) {
	cases := map[string]string{
		money("4999", "usd"):           "49.99 USD",
		money("500", "JPY"):            "500 JPY",
		money("x", "eur"):              "x EUR",
		segment("Team Payments/EU"):    "Team-Payments-EU",
		str(nil):                       "",
		join(",", []any{"a", 1.5}):     "a,1.5",
		toJSON(map[string]any{"a": 1}): `{"a":1}`,
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if lookup(map[string]any{"a": []any{map[string]any{"b": "c"}}}, "a.0.b") != "c" || lookup(nil, "a") != nil {
		t.Error("lookup")
	}
}

func TestMaxEventsPerDelivery(t *testing.T) {
	f := newFixture(t, config.WebhookSource{Name: "am", Provider: "bearer", Secrets: []string{"t"}, Preset: "alertmanager"})
	var b strings.Builder
	b.WriteString(`{"receiver":"r","alerts":[`)
	for i := 0; i <= MaxEventsPerDelivery; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"status":"firing","fingerprint":"%d"}`, i)
	}
	b.WriteString("]}")
	a := f.post(t, "am", []byte(b.String()), map[string]string{"Authorization": "Bearer t"})
	if a.Status != 400 || len(f.history(t, "alerts:r")) != 0 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
}
