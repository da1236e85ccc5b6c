package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// Default event sources for requests that name none.
const (
	sourceSQS    = "sqs"
	sourceSNS    = "sns"
	sourceDirect = "lambda"
)

// publisher turns invocations into bus publishes.
type publisher struct {
	bus           bus.Publisher
	maxEventBytes int
	log           *slog.Logger
	now           func() time.Time
}

// item is one envelope: an SQS or SNS record, an EventBridge event or a
// direct invocation.
type item struct {
	id        string // message id, event id or request id, for logs and batch failures
	msgs      []bus.Message
	published []bus.Published
	// err wraps errInvalid (dropped: retrying cannot fix it) or is a bus
	// failure (retried by the trigger).
	err error
}

func (it *item) invalid() bool { return errors.Is(it.err, errInvalid) }

// result answers EventBridge, SNS and direct invocations.
type result struct {
	Events  []bus.Receipt `json:"events"`
	Invalid int           `json:"invalid,omitempty"`
}

// probe tells the trigger from the raw event. encoding/json prefers the
// exact key, so "eventSource" (SQS) and "EventSource" (SNS) stay apart.
type probe struct {
	Records *[]struct {
		EventSource    string `json:"eventSource"`
		EventSourceSNS string `json:"EventSource"`
	} `json:"Records"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

// handle is the Lambda handler: SQS batch, SNS, EventBridge or a direct
// invocation with a publish request.
func (p *publisher) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var pr probe
	if err := json.Unmarshal(raw, &pr); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	switch {
	case pr.Records != nil:
		if len(*pr.Records) == 0 {
			return nil, errors.New("decode event: empty Records")
		}
		switch r := (*pr.Records)[0]; {
		case r.EventSource == "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decode SQS event: %w", err)
			}
			return p.sqs(ctx, ev), nil
		case r.EventSourceSNS == "aws:sns":
			var ev events.SNSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decode SNS event: %w", err)
			}
			return p.sns(ctx, ev)
		}
		return nil, errors.New("decode event: Records are neither SQS nor SNS")
	case pr.DetailType != nil && len(pr.Detail) > 0:
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode EventBridge event: %w", err)
		}
		return p.eventBridge(ctx, ev)
	}
	return p.direct(ctx, raw)
}

// sqs publishes every valid record and reports the records that failed on
// the bus as batch item failures, so SQS redelivers only those (the event
// source mapping needs ReportBatchItemFailures). Invalid records are
// dropped: a redelivery would fail the same way until the DLQ.
func (p *publisher) sqs(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	now := p.now()
	items := make([]*item, len(ev.Records))
	for i, r := range ev.Records {
		it := &item{id: r.MessageId}
		it.msgs, it.err = parseRequest([]byte(r.Body), defaults{source: sourceSQS, key: r.MessageId}, now, p.maxEventBytes)
		items[i] = it
	}
	p.publish(ctx, items)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, it := range items {
		if it.err != nil && !it.invalid() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: it.id})
		}
	}
	p.summary(ctx, "sqs", items)
	return resp
}

// sns publishes each record's Message. A bus failure fails the invocation
// so Lambda's asynchronous retries (and then the on-failure destination)
// take over; idempotency keys default to the SNS MessageId, so a retry
// publishes nothing twice.
func (p *publisher) sns(ctx context.Context, ev events.SNSEvent) (any, error) {
	now := p.now()
	items := make([]*item, len(ev.Records))
	for i, r := range ev.Records {
		it := &item{id: r.SNS.MessageID}
		it.msgs, it.err = parseRequest([]byte(r.SNS.Message), defaults{source: sourceSNS, key: r.SNS.MessageID}, now, p.maxEventBytes)
		items[i] = it
	}
	return p.finish(ctx, "sns", items)
}

// eventBridge publishes the detail; the event id is the default
// idempotency key and detail-type the default event type.
func (p *publisher) eventBridge(ctx context.Context, ev events.EventBridgeEvent) (any, error) {
	it := &item{id: ev.ID}
	it.msgs, it.err = parseRequest(ev.Detail, defaults{source: ev.Source, typ: ev.DetailType, key: ev.ID}, p.now(), p.maxEventBytes)
	return p.finish(ctx, "eventbridge", []*item{it})
}

// direct publishes a request invoked directly. The caller sees invalid
// requests as an invocation error. The default idempotency key is the
// request id, which Lambda keeps across the retries of an asynchronous
// invocation.
func (p *publisher) direct(ctx context.Context, raw json.RawMessage) (any, error) {
	var key string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		key = lc.AwsRequestID
	}
	it := &item{id: key}
	it.msgs, it.err = parseRequest(raw, defaults{source: sourceDirect, key: key}, p.now(), p.maxEventBytes)
	if it.invalid() {
		p.summary(ctx, "direct", []*item{it})
		return nil, it.err
	}
	return p.finish(ctx, "direct", []*item{it})
}

// finish publishes items and fails the invocation when any failed on the
// bus; invalid items are dropped.
func (p *publisher) finish(ctx context.Context, trigger string, items []*item) (any, error) {
	p.publish(ctx, items)
	p.summary(ctx, trigger, items)
	res := result{Events: []bus.Receipt{}}
	for _, it := range items {
		switch {
		case it.invalid():
			res.Invalid++
		case it.err != nil:
			return nil, fmt.Errorf("%s %s: %w", trigger, it.id, it.err)
		}
		res.Events = append(res.Events, bus.Receipts(it.published)...)
	}
	return res, nil
}

// publish sends the messages of every valid item in one pipelined batch.
// The bus stops at the first failure: an invalid message drops its item
// and the rest is sent again; any other failure fails every item not yet
// fully published.
func (p *publisher) publish(ctx context.Context, items []*item) {
	var msgs []bus.Message
	var owner []*item
	for _, it := range items {
		if it.err != nil {
			continue
		}
		msgs = append(msgs, it.msgs...)
		for range it.msgs {
			owner = append(owner, it)
		}
	}
	for len(msgs) > 0 {
		pubs, err := p.bus.Publish(ctx, msgs)
		k := min(len(pubs), len(msgs))
		for i := range k {
			owner[i].published = append(owner[i].published, pubs[i])
		}
		if err == nil {
			return
		}
		if errors.Is(err, bus.ErrInvalid) && k < len(msgs) {
			bad := owner[k]
			bad.err = fmt.Errorf("%w: %v", errInvalid, err)
			var restMsgs []bus.Message
			var restOwner []*item
			for j := k + 1; j < len(msgs); j++ {
				if owner[j] != bad {
					restMsgs, restOwner = append(restMsgs, msgs[j]), append(restOwner, owner[j])
				}
			}
			msgs, owner = restMsgs, restOwner
			continue
		}
		for j := k; j < len(msgs); j++ {
			if owner[j].err == nil {
				owner[j].err = fmt.Errorf("publish: %w", err)
			}
		}
		return
	}
}

// summary logs one line per dropped item and one per invocation; a
// CloudWatch metric filter on {$.msg = "publish"} turns the counts into
// metrics (invalid > 0 deserves an alarm).
func (p *publisher) summary(ctx context.Context, trigger string, items []*item) {
	var events, dups, invalid, failed int
	for _, it := range items {
		switch {
		case it.invalid():
			invalid++
			p.log.WarnContext(ctx, "publish: dropped invalid request", "trigger", trigger, "id", it.id, "err", it.err)
		case it.err != nil:
			failed++
			p.log.ErrorContext(ctx, "publish: bus failure", "trigger", trigger, "id", it.id, "err", it.err)
		}
		for _, pub := range it.published {
			events++
			if pub.Duplicate {
				dups++
			}
		}
	}
	p.log.InfoContext(ctx, "publish", "trigger", trigger, "records", len(items), "events", events,
		"duplicates", dups, "invalid", invalid, "failed", failed)
}
