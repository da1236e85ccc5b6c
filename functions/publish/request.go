package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// errInvalid marks a request no retry can fix (bad JSON, topic, type,
// size): it is dropped, never retried.
var errInvalid = errors.New("invalid publish request")

// defaults fill what a request leaves out, from the envelope it came in.
type defaults struct {
	source string
	typ    string // EventBridge detail-type
	key    string // envelope id: EventBridge id, SQS messageId, SNS MessageId
}

// parseRequest decodes and validates a publish request exactly as the bus
// will encode it (bus.EncodeBody), so an invalid event never reaches
// Redis and a valid one is never refused there. Errors wrap errInvalid.
func parseRequest(raw []byte, d defaults, now time.Time, maxEventBytes int) ([]bus.Message, error) {
	var req bus.Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%w: not a publish request: %v", errInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the request", errInvalid)
	}
	evs, batch, err := req.List()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	msgs := make([]bus.Message, len(evs))
	for i, e := range evs {
		name := func(f string) string {
			if batch {
				return fmt.Sprintf("events[%d].%s", i, f)
			}
			return f
		}
		m := e.Message()
		if m.Type == "" {
			m.Type = d.typ
		}
		if m.Source == "" {
			m.Source = d.source
		}
		if m.IdempotencyKey == "" && d.key != "" {
			// Redelivery of the same envelope (SQS retry, EventBridge
			// retry) publishes nothing twice.
			m.IdempotencyKey = d.key
			if batch {
				m.IdempotencyKey += "#" + strconv.Itoa(i)
			}
		}
		if len(m.IdempotencyKey) > bus.MaxIdempotencyKeyLen {
			return nil, fmt.Errorf("%w: %s: longer than %d bytes", errInvalid, name("idempotency_key"), bus.MaxIdempotencyKeyLen)
		}
		if _, err := bus.EncodeBody(m, now, maxEventBytes); err != nil {
			// The bus's message names the field and the rule.
			if batch {
				return nil, fmt.Errorf("%w: events[%d]: %v", errInvalid, i, err)
			}
			return nil, fmt.Errorf("%w: %v", errInvalid, err)
		}
		msgs[i] = m
	}
	return msgs, nil
}
