package main

import (
	"errors"
	"fmt"
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

// parseRequest decodes and validates a publish request with the validator
// every way in shares (bus.Messages), then checks each event's encoded
// size as the bus will (bus.EncodeBody), so an invalid event never reaches
// Redis and a valid one is never refused there. Unknown fields are
// skipped: the request may sit inside a larger EventBridge detail or SNS
// message. Errors wrap errInvalid.
func parseRequest(raw []byte, d defaults, now time.Time, maxEventBytes int) ([]bus.Message, error) {
	// Redelivery of the same envelope (SQS retry, EventBridge retry)
	// publishes nothing twice: its id is the events' default key.
	msgs, batch, err := bus.Messages(raw, bus.DecodeOptions{},
		bus.Policy{Source: d.source, Type: d.typ, Key: d.key, KeyPerEvent: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	for i, m := range msgs {
		if _, err := bus.EncodeBody(m, now, maxEventBytes); err != nil {
			// The bus's message names the field and the rule.
			if batch {
				return nil, fmt.Errorf("%w: events[%d]: %v", errInvalid, i, err)
			}
			return nil, fmt.Errorf("%w: %v", errInvalid, err)
		}
	}
	return msgs, nil
}
