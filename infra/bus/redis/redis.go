// Package redis is the production bus: every topic is a Redis stream (its
// bounded, expiring history) plus a pub/sub channel (live notification).
// One Lua script per message does dedup, id assignment, append and notify
// atomically, so a crash never leaves half an event. Keys carry a hash tag of
// the topic ("hr:{order:1}:s" stream, ":l" its last id, ":d:<key>" dedup,
// ":r" read cursors, channel "hr:{order:1}") so every key a script touches is in one cluster
// slot.
//
// A Bus holds one pub/sub connection (on a Redis Cluster, one sharded
// pub/sub connection per primary, see shard.go), SUBSCRIBEs a topic's
// channel while at least one local subscription wants it, and feeds every
// subscription from a single dispatcher goroutine. Delivery is gap-free: a live message carries
// its predecessor's id, and any hole (subscribe race, dropped connection,
// reconnect) is filled from the stream before the next live event. Every
// SUBSCRIBE confirmation, including the ones after go-redis reconnects by
// itself, re-reads the topic's stream from the last id delivered.
//
// Handlers run on the dispatcher goroutine: they must not block, nor call
// Subscribe (which waits for the dispatcher); they may call Close.
//
// Failure behaviour, as the tests show it: while Redis is down, Publish,
// History, SetRead, Unread and new Subscribes fail with ErrUnavailable;
// existing subscriptions stay and resume by themselves. If Redis comes back
// empty (no persistence), the next event names 0-0 as its predecessor and
// subscribers get Truncated before it: events accepted just before the crash
// may have been lost with the server, and the signal says so. A stream that
// expired (HistoryTTL without a publish) while the pub/sub connection stayed
// up gives live subscribers no such signal: they saw every event.
//
// A Redis ACL user needs: keys ~<prefix>:*, channels &<prefix>:*, commands
// +@scripting +@stream +@pubsub +@string +@hash +@keyspace +ping +time
// (see TestACLUser).
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

var _ bus.Bus = (*Bus)(nil)

// Options configure a Redis bus. Zero values mean the defaults.
type Options struct {
	// URL is redis://[user:pass@]host:port[/db] or rediss:// for TLS.
	// With Cluster, it names a seed node and more with ?addr=host:port.
	URL string
	// Cluster connects to a Redis Cluster (ElastiCache cluster mode,
	// Redis 7 or later): scripts go to the slot of their topic's hash tag,
	// and pub/sub is sharded: the publish script SPUBLISHes on the topic's
	// channel (same slot), and the bus SSUBSCRIBEs on one connection per
	// primary, so a publish reaches only its own shard's node.
	Cluster bool
	// ClassicPubSub keeps PUBLISH/SUBSCRIBE on a cluster (Redis 6 has no
	// sharded pub/sub): the cluster then broadcasts every publish to every
	// node, so pub/sub capacity does not grow with shards.
	ClassicPubSub bool
	// Username and Password override the URL's user info when set.
	Username string
	Password string
	// TLSConfig overrides the TLS settings a rediss:// URL implies.
	TLSConfig *tls.Config
	// CredentialsProvider, when set, is asked for a user name and password
	// at every new connection (ElastiCache IAM: a fresh SigV4 token). The
	// pub/sub connection is replaced every ReauthInterval so it never
	// outlives the 12 h limit of IAM-authenticated connections.
	CredentialsProvider func(ctx context.Context) (username, password string, err error)
	// Prefix starts every key and channel. Default "hr".
	Prefix string
	// Bus holds history length and TTL, dedup TTL and event size limit.
	Bus bus.Options

	// DialTimeout, ReadTimeout and WriteTimeout bound each Redis call so a
	// stuck server fails fast with ErrUnavailable. Default 2 s each.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// SubscribeTimeout bounds waiting for a SUBSCRIBE confirmation and the
	// replay when the caller's context has no earlier deadline. Default 5 s.
	SubscribeTimeout time.Duration
	// PingInterval: the pub/sub connection is pinged after this long without
	// traffic and replaced when the ping goes unanswered as long. Default 5 s.
	PingInterval time.Duration
	// ReauthInterval: the pub/sub connection is replaced (re-authenticated)
	// this often. Default 11 h.
	ReauthInterval time.Duration
	// PoolSize is the command connection pool size. Default go-redis's.
	PoolSize int
	// PublishPipelines bounds the publish pipelines in flight at once;
	// concurrent publishes beyond it queue and share the next round trip
	// and its script calls (calls.go). Default 1: Redis runs scripts one
	// at a time anyway, and one lane makes the shared calls larger, which
	// is what makes a publish cheap for Redis and the relay under load
	// (docs/performance.md); a lone publisher still sends at once.
	PublishPipelines int
	// WaitReplicas > 0 makes Publish durable: after the publish script it
	// WAITs for that many replicas to acknowledge, and fails with
	// ErrUnavailable (the sender retries with its idempotency key) unless
	// they do within WaitTimeout (default 500 ms). See durable.go.
	WaitReplicas int
	WaitTimeout  time.Duration

	// Logger receives connection state changes. Default slog.Default().
	Logger *slog.Logger
}

// Defaults for the zero values of Options.
const (
	DefaultPrefix           = "hr"
	DefaultTimeout          = 2 * time.Second
	DefaultSubscribeTimeout = 5 * time.Second
	DefaultPingInterval     = 5 * time.Second
	DefaultReauthInterval   = 11 * time.Hour
	DefaultPublishPipelines = 1
	DefaultWaitTimeout      = 500 * time.Millisecond
)

// poolTimeout is how long a call waits for one of the pool's connections:
// go-redis's own default, ReadTimeout + 1 s, set explicitly so that calls
// sharing a read (coalesce.go) can wait longer than it and a pool timeout,
// not their own deadline, tells that the node's connections were all busy.
func (o Options) poolTimeout() time.Duration { return o.ReadTimeout + time.Second }

// sharedReadTimeout bounds a read made for several callers: the wait for a
// connection, the dial and the read.
func (o Options) sharedReadTimeout() time.Duration {
	return o.poolTimeout() + o.DialTimeout + o.ReadTimeout
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	o.Bus = o.Bus.WithDefaults()
	for _, d := range []*time.Duration{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout} {
		if *d <= 0 {
			*d = DefaultTimeout
		}
	}
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.ReauthInterval <= 0 {
		o.ReauthInterval = DefaultReauthInterval
	}
	if o.PublishPipelines <= 0 {
		o.PublishPipelines = DefaultPublishPipelines
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.WaitReplicas > 0 && o.WaitTimeout <= 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	return o
}

// Publisher is the publish half of the Redis bus: the command client, the
// publish script and its batcher, and the counters. Processes that only
// publish (both Lambdas) open a Publisher; a Bus is a Publisher plus the
// pub/sub connection, the dispatcher and the history reads.
//
// They are two types, not one with a flag, so a binary that only publishes
// does not link the subscribe side: the webhook rules' text/template makes
// the linker keep every exported method of every type that reaches an
// interface (docs/lambda.md), so *Bus in a Lambda would keep Subscribe,
// History, Unread, SetRead and the dispatcher behind them. Nothing a
// Publisher holds refers to Bus.
type Publisher struct {
	opt     Options
	client  goredis.UniversalClient
	keys    keys
	scripts scripts
	metrics metrics
	batch   *batcher

	closeOnce sync.Once
	closed    chan struct{}
}

var _ bus.Publisher = (*Publisher)(nil)

// Bus is the Redis implementation of bus.Bus. It is safe for concurrent use.
type Bus struct {
	Publisher
	disp *dispatcher
	hist histCoalescer
	// tail coalesces reads of topics' newest entries (coalesce.go).
	tail histCoalescer
}

// NewPublisher connects to Redis, checks it answers PING within ctx and
// loads the publish script. It opens no pub/sub connection.
func NewPublisher(ctx context.Context, o Options) (*Publisher, error) {
	p := &Publisher{}
	if err := p.open(ctx, o); err != nil {
		return nil, err
	}
	return p, nil
}

// New connects to Redis and checks it answers PING within ctx.
func New(ctx context.Context, o Options) (*Bus, error) {
	b := &Bus{}
	if err := b.open(ctx, o); err != nil {
		return nil, err
	}
	b.hist.b = b
	b.tail.b, b.tail.latest = b, true
	b.disp = newDispatcher(b)
	return b, nil
}

// open fills p in place (it holds a sync.Once and atomics, so it is not
// built and copied).
func (p *Publisher) open(ctx context.Context, o Options) error {
	o = o.withDefaults()
	if o.URL == "" {
		return fmt.Errorf("redis bus: URL is empty: %w", bus.ErrInvalid)
	}
	if o.WaitReplicas < 0 {
		return fmt.Errorf("redis bus: WaitReplicas %d is negative: %w", o.WaitReplicas, bus.ErrInvalid)
	}
	client, err := newClient(o)
	if err != nil {
		return err
	}
	p.opt, p.client, p.keys = o, client, keys{prefix: o.Prefix}
	p.scripts = newScriptsFor(o.Cluster && !o.ClassicPubSub)
	p.closed = make(chan struct{})
	if err := p.Ready(ctx); err != nil {
		_ = p.client.Close() // the connect error is the one worth returning
		return err
	}
	if o.Cluster && !o.ClassicPubSub {
		if err := checkShardedPubSub(ctx, p.client); err != nil {
			_ = p.client.Close() // the check's error is the one worth returning
			return err
		}
	}
	// Load the publish script now, so the first publish (a Lambda's, on
	// every cold start) does not pay a NOSCRIPT round trip and a reload.
	// A failure is not fatal: publishes load it on NOSCRIPT anyway.
	if err := p.scripts.publish.Load(ctx, p.client).Err(); err != nil {
		o.Logger.Debug("publish script not preloaded; loaded on first use", "err", err)
	}
	p.batch = newBatcher(p, o.PublishPipelines)
	return nil
}

// Ready pings Redis.
func (p *Publisher) Ready(ctx context.Context) error {
	if p.isClosed() {
		return bus.ErrClosed
	}
	if err := p.client.Ping(ctx).Err(); err != nil {
		return p.unavailable("ping", err)
	}
	return nil
}

// Close closes the connections.
func (p *Publisher) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		err = p.client.Close()
	})
	return err
}

// Close stops every subscription and closes the connections.
func (b *Bus) Close() error {
	var err error
	b.closeOnce.Do(func() {
		close(b.closed)
		if b.disp != nil {
			b.disp.stop()
		}
		err = b.client.Close()
	})
	return err
}

func (p *Publisher) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// unavailable wraps a Redis failure with ErrUnavailable and what failed.
// Redis error replies (a script error, NOPERM, OOM) count too: nothing was
// done and a retry may succeed. A cancelled context is the caller's doing,
// not the backend's, and is returned as such.
func (p *Publisher) unavailable(what string, err error) error {
	if p.isClosed() || errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis bus: %s: %w", what, bus.ErrClosed)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("redis bus: %s: %w", what, err)
	}
	p.metrics.errors.Add(1)
	if errors.Is(err, goredis.ErrPoolTimeout) {
		// Every pooled connection stayed busy past the pool timeout: this
		// node asks more than its pool serves, Redis may be fine.
		p.metrics.poolTimeouts.Add(1)
		return fmt.Errorf("redis bus: %s: %w: %w: %w", what, bus.ErrBusy, bus.ErrUnavailable, err)
	}
	return fmt.Errorf("redis bus: %s: %w: %w", what, bus.ErrUnavailable, err)
}

// keys names every key and channel of a topic. The {topic} hash tag keeps
// them in one cluster slot; topic names cannot contain braces.
type keys struct{ prefix string }

func (k keys) stream(topic string) string  { return k.prefix + ":{" + topic + "}:s" }
func (k keys) readers(topic string) string { return k.prefix + ":{" + topic + "}:r" }
func (k keys) channel(topic string) string { return k.prefix + ":{" + topic + "}" }
func (k keys) last(topic string) string    { return k.prefix + ":{" + topic + "}:l" }
func (k keys) writer(topic string) string  { return k.prefix + ":{" + topic + "}:w" }
func (k keys) dedup(topic, key string) string {
	return k.prefix + ":{" + topic + "}:d:" + key
}

func validTopic(topic string) error {
	if err := event.ValidateTopic(topic); err != nil {
		return fmt.Errorf("%w: %v", bus.ErrInvalid, err)
	}
	return nil
}

// Client returns the bus's command client (its pool, TLS, credentials and
// cluster routing) for the other Redis users of a process: the delivery
// log, the fleet record and presence (infra/presence/redis) share the bus's connections rather than open
// their own. Callers must not Close it; Close does.
func (p *Publisher) Client() goredis.UniversalClient { return p.client }

// Prefix is the key prefix of the bus ("hr" by default); other Redis users
// put their keys under it so one ACL key pattern covers everything.
func (p *Publisher) Prefix() string { return p.opt.Prefix }
