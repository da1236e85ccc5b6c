package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
)

func keyed(topic string, i int) bus.Message {
	m := msg(topic, i)
	m.IdempotencyKey = fmt.Sprintf("delivery-%d", i)
	return m
}

// TestDurablePublishLosesNoAcknowledgedEvent: with WaitReplicas 1, a
// publish the replica could not acknowledge (link held back) fails with
// ErrUnavailable, and so does its retry (a duplicate) while the link is
// down; after the primary dies and the replica is promoted, the sender's
// retries with the same delivery ids succeed, and every event ever
// acknowledged is in the new primary's history.
func TestDurablePublishLosesNoAcknowledgedEvent(t *testing.T) {
	f := startFailover(t, 0)
	b := f.bus(func(o *Options) { o.WaitReplicas, o.WaitTimeout = 1, 200*time.Millisecond })
	acked := make(map[string]bool)
	for i := range 5 {
		out, err := b.Publish(context.Background(), []bus.Message{keyed("du:1", i)})
		if err != nil {
			t.Fatalf("publish %d with the replica in sync: %v", i, err)
		}
		acked[out[0].Event.ID] = true
	}
	// A second publisher (another relay or Lambda) whose connections have
	// written nothing yet: its WAIT covers only what its own script wrote.
	other := f.bus(func(o *Options) { o.WaitReplicas, o.WaitTimeout = 1, 200*time.Millisecond })
	f.link.Pause()
	var refused int
	for i := 5; i < 8; i++ {
		// The retry, through the other publisher, is a duplicate: the
		// original is still not replicated.
		for try, p := range []*Bus{b, other} {
			_, err := p.Publish(context.Background(), []bus.Message{keyed("du:1", i)})
			if !errors.Is(err, bus.ErrUnavailable) {
				t.Fatalf("publish %d try %d with the link held back: err %v, want ErrUnavailable", i, try, err)
			}
			refused++
		}
	}
	if got := b.Stats().NotReplicated + other.Stats().NotReplicated; got != uint64(refused) {
		t.Errorf("NotReplicated = %d, want %d", got, refused)
	}
	killed := time.Now()
	f.promote()
	// As ElastiCache does, a new replica joins the promoted primary: until
	// it has synced, durable publishes are refused.
	host, port, _ := strings.Cut(f.replica.addr, ":")
	startNode(t, nil, "--replicaof", host, port)
	for i := 5; i < 8; i++ {
		ev, down := publishUntilUp(t, b, keyed("du:1", i), killed)
		if i == 5 {
			t.Logf("publishing unavailable for %v after the primary was killed", down.Round(time.Millisecond))
		}
		acked[ev.ID] = true
	}
	page, err := b.History(context.Background(), "du:1", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool)
	for _, d := range page.Events {
		have[d.ID.String()] = true
	}
	for id := range acked {
		if !have[id] {
			t.Errorf("acknowledged event %s lost across the failover (history %v)", id, deliveredIDs(page.Events))
		}
	}
}
