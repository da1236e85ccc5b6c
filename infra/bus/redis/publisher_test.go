package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestPublisherIsTheBusPublishHalf: what a Lambda opens (NewPublisher)
// publishes into the same streams a Bus reads, with the same dedup, counts
// what it did, refuses bad input without a connection to spare, and after
// Close answers ErrClosed.
func TestPublisherIsTheBusPublishHalf(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := testOptions(t, srv.URL())
	p, err := NewPublisher(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := dialTestBus(t, o, nil, 10*time.Second)

	msg := bus.Message{Topic: "order:1", Type: "created", Data: []byte(`{"n":1}`), IdempotencyKey: "d1"}
	first, err := p.Publish(ctx, []bus.Message{msg})
	if err != nil || len(first) != 1 || first[0].Duplicate {
		t.Fatalf("publish: %+v %v", first, err)
	}
	again, err := p.Publish(ctx, []bus.Message{msg})
	if err != nil || len(again) != 1 || !again[0].Duplicate || again[0].Event.ID != first[0].Event.ID {
		t.Fatalf("same key again: %+v %v, want the original as a duplicate", again, err)
	}
	page, err := b.History(ctx, "order:1", "", 10)
	if err != nil || len(page.Events) != 1 || page.Events[0].ID.String() != first[0].Event.ID {
		t.Fatalf("the Bus reads %+v %v, want the Publisher's one event", page, err)
	}
	if s := p.Stats(); s.Published != 1 || s.Duplicates != 1 {
		t.Fatalf("stats %+v, want 1 published and 1 duplicate", s)
	}
	if _, err := p.Publish(ctx, []bus.Message{{Topic: "bad topic", Type: "x", Data: []byte(`{}`)}}); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("invalid topic: %v, want ErrInvalid", err)
	}
	if p.Client() == nil || p.Prefix() != o.Prefix {
		t.Fatalf("Client %v Prefix %q, want the connection and %q for the delivery log", p.Client(), p.Prefix(), o.Prefix)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, []bus.Message{msg}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("publish after Close: %v, want ErrClosed", err)
	}
	if err := p.Ready(ctx); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Ready after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
