package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
)

// failOnce publishes the first failAt messages of its first call on the
// memory bus and then fails with err, as the Redis bus does when a
// pipelined batch breaks; later calls pass through.
type failOnce struct {
	bus.Bus
	failAt int
	err    error
	calls  int
}

func (f *failOnce) Publish(ctx context.Context, msgs []bus.Message) ([]bus.Published, error) {
	f.calls++
	if f.calls > 1 || f.failAt >= len(msgs) {
		return f.Bus.Publish(ctx, msgs)
	}
	pubs, err := f.Bus.Publish(ctx, msgs[:f.failAt])
	if err != nil {
		return pubs, err
	}
	return pubs, f.err
}

func items() []*item {
	msg := func(topic string) bus.Message { return bus.Message{Topic: topic, Type: "t", IdempotencyKey: topic} }
	return []*item{
		{id: "A", msgs: []bus.Message{msg("a:1")}},
		{id: "B", msgs: []bus.Message{msg("b:1"), msg("b:2")}},
		{id: "C", msgs: []bus.Message{msg("c:1")}},
	}
}

func outcome(its []*item) string {
	s := ""
	for _, it := range its {
		state := "ok"
		switch {
		case it.invalid():
			state = "invalid"
		case it.err != nil:
			state = "failed"
		}
		s += fmt.Sprintf("%s:%s/%d ", it.id, state, len(it.published))
	}
	return s
}

func TestPublishPartialFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failAt int
		err    error
		want   string
	}{
		{"all published", 99, nil, "A:ok/1 B:ok/2 C:ok/1 "},
		// An invalid message drops its whole item; the rest is sent again.
		{"invalid in the middle", 1, fmt.Errorf("too big: %w", bus.ErrInvalid), "A:ok/1 B:invalid/0 C:ok/1 "},
		// Bus down mid-batch: every item not fully published fails.
		{"unavailable mid item", 2, fmt.Errorf("conn reset: %w", bus.ErrUnavailable), "A:ok/1 B:failed/1 C:failed/0 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.New(bus.Options{})
			defer mem.Close()
			p := &publisher{bus: &failOnce{Bus: mem, failAt: tc.failAt, err: tc.err}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
			its := items()
			p.publish(context.Background(), its)
			if got := outcome(its); got != tc.want {
				t.Errorf("got %s want %s", got, tc.want)
			}
		})
	}
}
