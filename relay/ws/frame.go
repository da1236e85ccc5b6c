package ws

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/relay/api"
)

// maxRefLen bounds the ref a client may have echoed back.
const maxRefLen = 128

// clientFrame is every client request; fields are used per op.
type clientFrame struct {
	Op             string          `json:"op"`
	Ref            string          `json:"ref"`
	Topics         []string        `json:"topics"`
	Topic          string          `json:"topic"`
	Cursor         string          `json:"cursor"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data"`
	IdempotencyKey string          `json:"idempotency_key"`
	Token          string          `json:"token"`
	// Presence on subscribe asks for presence updates of the topics.
	Presence bool `json:"presence"`

	// cursor is Cursor parsed against Topics (subscribe).
	cursor event.Cursor
	// msg is the event of a publish, read and validated by the validator
	// every way in shares (bus.DecodeRequest, RequestEvent.Validate).
	msg bus.Message
}

// publishMessage reads a publish frame's event. The frame is decoded a
// second time by the shared publish decoder so that the WebSocket refuses
// exactly what POST /v1/publish and the publish Lambda refuse, a field
// given twice included. The relay stamps source and time, so a frame's
// own are ignored (as they always were).
func publishMessage(b []byte, ref string) (bus.Message, *frameError) {
	r, err := bus.DecodeRequest(b, bus.DecodeOptions{Single: true})
	if err != nil {
		return bus.Message{}, errFrame(ref, apierr.CodeBadRequest, "%v", err)
	}
	e := r.RequestEvent
	e.Source, e.Time = "", nil
	m, err := e.Validate(-1, bus.Policy{})
	switch {
	case bus.BadTopic(err):
		return bus.Message{}, errFrame(ref, apierr.CodeBadTopic, "%v", err)
	case err != nil:
		return bus.Message{}, errFrame(ref, apierr.CodeBadRequest, "%v", err)
	}
	return m, nil
}

// frameError is a request the relay answers with an error frame: a
// catalogue entry's code and message (infra/apierr), without the status.
type frameError struct {
	Ref     string
	Code    string
	Message string
}

func (e *frameError) Error() string { return e.Code + ": " + e.Message }

func errFrame(ref, code, format string, args ...any) *frameError {
	return &frameError{Ref: ref, Code: code, Message: fmt.Sprintf(format, args...)}
}

// parseClientFrame decodes and validates one client frame. Everything a
// client can get wrong is caught here, so that the op handlers only check
// grants and talk to the hub and bus. maxTopics bounds a subscribe.
func parseClientFrame(b []byte, maxTopics int) (*clientFrame, *frameError) {
	if !utf8.Valid(b) {
		// gorilla does not check text frames; invalid UTF-8 would reach
		// event data through json.RawMessage and break every reader.
		return nil, errFrame(refOf(b), apierr.CodeBadRequest, "text frame is not valid UTF-8")
	}
	var f clientFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errFrame(refOf(b), apierr.CodeBadRequest, "frame is not a JSON object of the protocol: %v", err)
	}
	if len(f.Ref) > maxRefLen {
		return nil, errFrame("", apierr.CodeBadRequest, "ref longer than %d bytes", maxRefLen)
	}
	switch f.Op {
	case "subscribe":
		topics, ferr := checkTopics(f.Ref, f.Topics, maxTopics)
		if ferr != nil {
			return nil, ferr
		}
		f.Topics = topics
		c, err := event.ParseCursor(f.Cursor, topics)
		if err != nil {
			return nil, errFrame(f.Ref, apierr.CodeBadCursor, "%v", err)
		}
		f.cursor = c
	case "unsubscribe":
		topics, ferr := checkTopics(f.Ref, f.Topics, maxTopics)
		if ferr != nil {
			return nil, ferr
		}
		f.Topics = topics
	case "publish":
		m, ferr := publishMessage(b, f.Ref)
		if ferr != nil {
			return nil, ferr
		}
		// WebSocket publishers are token holders (relay/api's limit for them).
		if len(m.IdempotencyKey) > api.MaxTokenIdempotencyKeyLen {
			return nil, errFrame(f.Ref, apierr.CodeBadRequest, "idempotency_key longer than %d bytes", api.MaxTokenIdempotencyKeyLen)
		}
		f.msg = m
	case "auth":
		if f.Token == "" {
			return nil, errFrame(f.Ref, apierr.CodeBadRequest, "auth needs a token")
		}
	case "":
		return nil, errFrame(f.Ref, apierr.CodeBadRequest, "frame has no op")
	default:
		return nil, errFrame(f.Ref, apierr.CodeUnknownOp, "unknown op %q (want subscribe, unsubscribe, publish or auth)", truncate(f.Op))
	}
	return &f, nil
}

// checkTopics validates and deduplicates a topics list.
func checkTopics(ref string, raw []string, maxTopics int) ([]string, *frameError) {
	if len(raw) == 0 {
		return nil, errFrame(ref, apierr.CodeBadTopic, "topics must list at least one topic")
	}
	if len(raw) > maxTopics {
		// bad_topic, as SSE and hub.ErrTooManyTopics (api.Classify) answer.
		return nil, errFrame(ref, apierr.CodeBadTopic, "at most %d topics per connection", maxTopics)
	}
	topics := make([]string, 0, len(raw))
	for _, t := range raw {
		if err := event.ValidateTopic(t); err != nil {
			return nil, errFrame(ref, apierr.CodeBadTopic, "%v", err)
		}
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	return topics, nil
}

// refOf digs the ref out of a frame that did not decode as a whole (say a
// topics field of the wrong type), so the error can still be matched.
func refOf(b []byte) string {
	var r struct {
		Ref json.RawMessage `json:"ref"`
	}
	if json.Unmarshal(b, &r) != nil || len(r.Ref) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(r.Ref, &s) != nil || len(s) > maxRefLen {
		return ""
	}
	return s
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Server frames, encoded once each.

type errorFrame struct {
	Op      string `json:"op"`
	Ref     string `json:"ref,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func encodeError(e *frameError) []byte {
	return mustJSON(errorFrame{Op: "error", Ref: e.Ref, Code: e.Code, Message: e.Message})
}

// mustJSON marshals values whose types cannot fail to encode (strings,
// slices of strings, bools).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"op":"error","code":"internal","message":"encode failed"}`)
	}
	return b
}

// appendAck appends {"op":"subscribed","ref":..,"topics":[..],"cursor":"..","resume":".."}:
// cursor covers the acknowledged topics, resume the whole connection.
func appendAck(b []byte, ref string, topics []string, cursor, resume []byte) []byte {
	b = append(b, `{"op":"subscribed","ref":`...)
	b = appendString(b, ref)
	b = append(b, `,"topics":[`...)
	for i, t := range topics {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, `],"cursor":"`...)
	b = append(b, cursor...) // ids and base64url need no escaping
	b = append(b, `","resume":"`...)
	b = append(b, resume...)
	return append(b, `"}`...)
}

func appendString(b []byte, s string) []byte {
	js, err := json.Marshal(s)
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, js...)
}
