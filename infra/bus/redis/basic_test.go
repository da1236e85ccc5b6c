package redis

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

func TestPublishSubscribeReplayThenLive(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	ids := publishN(t, b, "order:1", 0, 3)
	first, _ := event.ParseID(ids[0])
	var cur event.Cursor
	cur.Set("order:1", first)
	r := newRecorder()
	sub, err := b.Subscribe(ctx, []string{"order:1"}, cur, r)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := r.waitFor(t, 2, time.Second); !slices.Equal(deliveredIDs(got), ids[1:]) {
		t.Fatalf("replay got %v want %v", deliveredIDs(got), ids[1:])
	}
	more := publishN(t, b, "order:1", 3, 5)
	got := r.waitFor(t, 7, 2*time.Second)
	if want := append(ids[1:], more...); !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("got %v want %v", deliveredIDs(got), want)
	}
	e, err := got[0].Decode()
	if err != nil || e.Topic != "order:1" || e.ID != ids[1] || string(e.Data) != `{"n":1}` {
		t.Fatalf("decoded %+v, %v", e, err)
	}
	if !strings.HasPrefix(string(got[0].JSON), `{"id":"`+ids[1]+`","topic":"order:1",`) {
		t.Fatalf("json %s", got[0].JSON)
	}
}

func TestIdempotencyKeyReturnsOriginal(t *testing.T) {
	srv := redistest.Start(t)
	b := newTestBus(t, srv, nil)
	ctx := context.Background()
	m := msg("order:2", 1)
	m.IdempotencyKey = "shopify:abc"
	a, err := b.Publish(ctx, []bus.Message{m})
	if err != nil {
		t.Fatal(err)
	}
	m.Data = []byte(`{"n":99}`)
	again, err := b.Publish(ctx, []bus.Message{m, msg("order:2", 2)})
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Duplicate || again[0].Event.ID != a[0].Event.ID || string(again[0].Event.Data) != `{"n":1}` {
		t.Fatalf("duplicate: %+v", again[0])
	}
	if again[1].Duplicate {
		t.Fatal("second message marked duplicate")
	}
}

func TestNewRejectsBadURLWithoutEchoingPassword(t *testing.T) {
	for _, u := range []string{"", "http://x", "redis://user:hunter2@host:notaport"} {
		_, err := New(context.Background(), Options{URL: u})
		if !errors.Is(err, bus.ErrInvalid) {
			t.Fatalf("New(%q): err = %v, want ErrInvalid", u, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error repeats the password: %v", err)
		}
	}
}
