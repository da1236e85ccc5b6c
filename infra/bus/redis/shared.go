package redis

import goredis "github.com/redis/go-redis/v9"

// Client is the bus's command client, for other stores that live next to
// the bus in the same Redis (infra/presence/redis): they share its pool,
// TLS and credentials. Closing the bus closes it.
func (b *Bus) Client() goredis.UniversalClient { return b.client }

// Prefix is the bus's key prefix ("hr" by default).
func (b *Bus) Prefix() string { return b.opt.Prefix }
