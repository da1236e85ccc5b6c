package app

import (
	"context"
	"fmt"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus/redis"
	"github.com/hookrelay/hookrelay/infra/presence"
	presmemory "github.com/hookrelay/hookrelay/infra/presence/memory"
	presredis "github.com/hookrelay/hookrelay/infra/presence/redis"
	relaypresence "github.com/hookrelay/hookrelay/relay/presence"
)

// presenceCloseTimeout bounds telling the store, at shutdown, that this
// relay's members left (otherwise they leave after the TTL).
const presenceCloseTimeout = 3 * time.Second

// buildPresence starts the presence tracker when presence_topics is set:
// on the bus's Redis (same connections) or, on the memory bus, in memory.
func (a *App) buildPresence() error {
	cfg := a.cfg
	if len(cfg.PresenceTopics) == 0 {
		return nil
	}
	po := presence.Options{TTL: cfg.PresenceTTL, MaxMembers: cfg.PresenceMaxMembers}
	var store presence.Store
	if rb, ok := a.bus.(*redis.Bus); ok {
		store = presredis.New(rb.Client(), presredis.Options{Options: po, Prefix: rb.Prefix()})
	} else {
		store = presmemory.New(po)
	}
	tr, err := relaypresence.New(store, relaypresence.Options{
		Topics:     cfg.PresenceTopics,
		Interval:   cfg.PresenceInterval,
		MaxMembers: cfg.PresenceMaxMembers,
		Logger:     a.log,
		Registerer: a.reg,
	})
	if err != nil {
		_ = store.Close() // the configuration error is the one to report
		return fmt.Errorf("%s: %w", cfg.Key("presence_topics"), err)
	}
	a.presence, a.presenceStore = tr, store
	go tr.Run()
	return nil
}

// closePresence lets this relay's members go (after the hub closed every
// client) and stops the tracker; before the bus closes its connections.
func (a *App) closePresence() {
	if a.presence == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenceCloseTimeout)
	defer cancel()
	a.presence.Close(ctx, true)
	if err := a.presenceStore.Close(); err != nil {
		a.log.Warn("close presence store", "err", err)
	}
	a.presence = nil
}
