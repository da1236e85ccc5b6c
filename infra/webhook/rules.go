package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"text/template"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/event"
)

// delivery is one verified webhook request as rules see it.
type delivery struct {
	Source  string
	Type    string
	ID      string
	Headers map[string]string // canonical name -> first value
	Body    any               // decoded JSON, numbers as json.Number
	Raw     []byte            // the JSON body as received
	// key identifies the delivery in idempotency keys: ID when the
	// signature covers it, else the SHA-256 of the signed body.
	key string
}

// tmplData is the dot of every rule template.
type tmplData struct {
	Body    any
	Headers map[string]string
	Type    string
	Source  string
	// Item and Index are the current element with Each.
	Item  any
	Index int
}

type pattern struct{ key, glob string }

// rule is a compiled config.WebhookRule.
type rule struct {
	where   string // "rules[2]" or "preset shopify rules[0]", for errors
	typ     string
	headers []pattern
	fields  []pattern
	mappers []*mapper
}

type mapper struct {
	where                              string
	each                               string
	topic, typ, data, title, body, url *template.Template
}

// errMapping marks a delivery the rules could not turn into valid events.
var errMapping = errors.New("mapping")

func compileRules(rs []config.WebhookRule, prefix string) ([]*rule, error) {
	out := make([]*rule, 0, len(rs))
	for i, r := range rs {
		where := fmt.Sprintf("%srules[%d]", prefix, i)
		cr := &rule{where: where, typ: r.Match.Type}
		if err := checkGlob(r.Match.Type); err != nil {
			return nil, fmt.Errorf("%s.match.type: %w", where, err)
		}
		for k, g := range r.Match.Header {
			if err := checkGlob(g); err != nil {
				return nil, fmt.Errorf("%s.match.header.%s: %w", where, k, err)
			}
			cr.headers = append(cr.headers, pattern{http.CanonicalHeaderKey(k), g})
		}
		for k, g := range r.Match.Field {
			if err := checkGlob(g); err != nil {
				return nil, fmt.Errorf("%s.match.field.%s: %w", where, k, err)
			}
			cr.fields = append(cr.fields, pattern{k, g})
		}
		if len(r.Events) == 0 {
			return nil, fmt.Errorf("%s.events: at least one event is needed", where)
		}
		for j, e := range r.Events {
			m, err := compileMapper(e, fmt.Sprintf("%s.events[%d]", where, j))
			if err != nil {
				return nil, err
			}
			cr.mappers = append(cr.mappers, m)
		}
		out = append(out, cr)
	}
	return out, nil
}

func checkGlob(g string) error {
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", g, err)
	}
	return nil
}

func compileMapper(e config.WebhookEventMapper, where string) (*mapper, error) {
	if strings.TrimSpace(e.Topic) == "" {
		return nil, fmt.Errorf("%s.topic: required", where)
	}
	m := &mapper{where: where, each: e.Each}
	for _, f := range []struct {
		key  string
		text string
		dst  **template.Template
	}{
		{"topic", e.Topic, &m.topic}, {"type", e.Type, &m.typ}, {"data", e.Data, &m.data},
		{"title", e.Title, &m.title}, {"body", e.Body, &m.body}, {"url", e.URL, &m.url},
	} {
		if f.text == "" {
			continue
		}
		t, err := template.New(f.key).Funcs(funcs()).Parse(f.text)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", where, f.key, err)
		}
		*f.dst = t
	}
	return m, nil
}

func (r *rule) matches(d *delivery) bool {
	if r.typ != "" {
		if ok, _ := path.Match(r.typ, d.Type); !ok {
			return false
		}
	}
	for _, p := range r.headers {
		if ok, _ := path.Match(p.glob, d.Headers[p.key]); !ok {
			return false
		}
	}
	for _, p := range r.fields {
		v := lookup(d.Body, p.key)
		if v == nil {
			return false
		}
		if ok, _ := path.Match(p.glob, str(v)); !ok {
			return false
		}
	}
	return true
}

// render produces the messages of one mapper (without idempotency keys).
func (m *mapper) render(d *delivery) ([]bus.Message, error) {
	dot := tmplData{Body: d.Body, Headers: d.Headers, Type: d.Type, Source: d.Source}
	if m.each == "" {
		return m.renderOne(d, dot)
	}
	items, ok := lookup(d.Body, m.each).([]any)
	if !ok {
		return nil, nil // nothing to iterate: no event
	}
	var out []bus.Message
	for i, it := range items {
		dot.Item, dot.Index = it, i
		msgs, err := m.renderOne(d, dot)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

func (m *mapper) renderOne(d *delivery, dot tmplData) ([]bus.Message, error) {
	topicText, err := execute(m.topic, dot)
	if err != nil {
		return nil, fmt.Errorf("%s.topic: %w", m.where, err)
	}
	// The whole output is one topic: splitting it would let a value from
	// the payload ("1 admin:x") add topics.
	topic := strings.TrimSpace(topicText)
	if topic == "" {
		return nil, nil
	}
	if strings.Contains(topic, "<no value>") {
		return nil, fmt.Errorf("%s.topic: a field it uses is missing (guard it with {{with}})", m.where)
	}
	if err := event.ValidateTopic(topic); err != nil {
		return nil, fmt.Errorf("%s.topic: %w", m.where, err)
	}
	typ := d.Type
	if m.typ != nil {
		if typ, err = execute(m.typ, dot); err != nil {
			return nil, fmt.Errorf("%s.type: %w", m.where, err)
		}
		typ = strings.TrimSpace(typ)
	}
	if typ == "" || strings.Contains(typ, "<no value>") {
		return nil, fmt.Errorf("%s.type: renders empty", m.where)
	}
	data, err := m.renderData(d, dot)
	if err != nil {
		return nil, err
	}
	return []bus.Message{{Topic: topic, Type: typ, Source: d.Source, Data: data}}, nil
}

// renderData renders the data template (default: the element with Each,
// else the whole body) and adds title, body and url.
func (m *mapper) renderData(d *delivery, dot tmplData) (json.RawMessage, error) {
	var data json.RawMessage
	switch {
	case m.data != nil:
		s, err := execute(m.data, dot)
		if err != nil {
			return nil, fmt.Errorf("%s.data: %w", m.where, err)
		}
		data = json.RawMessage(strings.TrimSpace(s))
		if !json.Valid(data) {
			return nil, fmt.Errorf("%s.data: result is not JSON (use the json function for values)", m.where)
		}
	case m.each != "":
		data = json.RawMessage(toJSON(dot.Item))
	default:
		data = json.RawMessage(d.Raw)
	}
	if m.title == nil && m.body == nil && m.url == nil {
		return data, nil
	}
	v, err := decodeJSON(data) // json.Number keeps 64-bit ids exact
	obj, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s.data: title/body/url need data to be a JSON object", m.where)
	}
	for _, f := range []struct {
		key string
		t   *template.Template
	}{{"title", m.title}, {"body", m.body}, {"url", m.url}} {
		if f.t == nil {
			continue
		}
		s, err := execute(f.t, dot)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", m.where, f.key, err)
		}
		// A missing field prints "<no value>"; a notification shows nothing.
		if s = strings.TrimSpace(strings.ReplaceAll(s, "<no value>", "")); s != "" {
			obj[f.key] = s
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%s.data: %w", m.where, err)
	}
	return b, nil
}

func execute(t *template.Template, dot tmplData) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, dot); err != nil {
		return "", err
	}
	return buf.String(), nil
}
