package bustest

import "strings"

// BadPublish is a publish request that every way in (POST /v1/publish,
// the WebSocket publish op, the publish Lambda) must refuse the same way:
// they share one validator (bus.DecodeRequest, RequestEvent.Validate), and
// each caller's test runs these cases through its own entry point.
type BadPublish struct {
	Name string
	// Event is one event as a JSON object, as POST /v1/publish and the
	// Lambda take it; the WebSocket frame is it with "op" and "ref" added.
	Event string
	// BadTopic: answered bad_topic; otherwise bad_request.
	BadTopic bool
	// Field is what the error message names ("" when it names none: a
	// JSON syntax error, whose wording is the transport's own).
	Field string
	// NotWS marks cases the WebSocket answers otherwise by design: it
	// checks a whole text frame is UTF-8 first, and ignores source and
	// time (the relay stamps them).
	NotWS bool
}

// BadPublishes returns the shared cases.
func BadPublishes() []BadPublish {
	return []BadPublish{
		// Security review I8: last-wins would publish to order:1 while a
		// gateway reading the first key saw room:b.
		{Name: "topic twice", Event: `{"topic":"room:b","topic":"order:1","type":"t"}`, Field: "topic: given more than once"},
		{Name: "topic twice, other case", Event: `{"topic":"room:b","Topic":"order:1","type":"t"}`, Field: "topic: given more than once"},
		{Name: "topic twice, escaped", Event: `{"topic":"room:b","to\u0070ic":"order:1","type":"t"}`, Field: "topic: given more than once"},
		{Name: "type twice", Event: `{"topic":"a:1","type":"t","type":"u"}`, Field: "type: given more than once"},
		{Name: "data twice", Event: `{"topic":"a:1","type":"t","data":1,"data":2}`, Field: "data: given more than once"},
		{Name: "key twice", Event: `{"topic":"a:1","type":"t","idempotency_key":"a","idempotency_key":"b"}`, Field: "idempotency_key: given more than once"},
		{Name: "no topic", Event: `{"type":"t"}`, BadTopic: true, Field: "topic"},
		{Name: "bad topic", Event: `{"topic":"a b","type":"t"}`, BadTopic: true, Field: "topic"},
		{Name: "topic not a string", Event: `{"topic":1,"type":"t"}`, Field: "topic"},
		{Name: "no type", Event: `{"topic":"a:1"}`, Field: "type"},
		{Name: "type with a space", Event: `{"topic":"a:1","type":"a b"}`, Field: "type"},
		{Name: "type too long", Event: `{"topic":"a:1","type":"` + strings.Repeat("t", 201) + `"}`, Field: "type"},
		{Name: "data not JSON", Event: `{"topic":"a:1","type":"t","data":{]}`},
		{Name: "data not UTF-8", Event: `{"topic":"a:1","type":"t","data":"` + "\xff" + `"}`, Field: "data", NotWS: true},
		{Name: "key too long", Event: `{"topic":"a:1","type":"t","idempotency_key":"` + strings.Repeat("k", 201) + `"}`, Field: "idempotency_key"},
		{Name: "source with a space", Event: `{"topic":"a:1","type":"t","source":"a b"}`, Field: "source", NotWS: true},
		{Name: "time not a time", Event: `{"topic":"a:1","type":"t","time":"yesterday"}`, Field: "time", NotWS: true},
		{Name: "not an object", Event: `["topic","a:1"]`, NotWS: true},
		{Name: "trailing data", Event: `{"topic":"a:1","type":"t"}{}`, NotWS: true},
	}
}
