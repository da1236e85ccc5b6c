package redis

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// readItem is what the reader goroutine hands the dispatcher.
type readItem struct {
	gen   int // which connection it came from
	msg   any // *goredis.Subscription, *goredis.Message or *goredis.Pong
	err   error
	stale bool // no answer to a ping: the connection must be replaced
}

// conn is one pub/sub connection and the goroutine reading it. On a single
// Redis, go-redis reconnects it and re-SUBSCRIBEs by itself after an error;
// a sharded (cluster) connection reports its first error and stops, and the
// dispatcher routes its topics again (shard.go). The dispatcher replaces a
// connection whole when it goes silent or must re-authenticate.
type conn struct {
	d       *dispatcher
	gen     int
	sharded bool
	ps      *goredis.PubSub
	cancel  context.CancelFunc
	done    chan struct{}
}

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// newConn starts reading ps, a PubSub without channels yet: the client's
// Subscribe on a single Redis, a primary's SSubscribe on a cluster.
func (d *dispatcher) newConn(gen int, ps *goredis.PubSub, addr string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{d: d, gen: gen, sharded: addr != "", ps: ps, cancel: cancel, done: make(chan struct{})}
	go c.read(ctx)
	return c
}

// subscribe sends SUBSCRIBE, or one SSUBSCRIBE per channel on a cluster
// (one command may name only one slot). A failure needs no handling here:
// the reader reports the broken connection, after which the channels are
// subscribed again, and the confirmation is what the dispatcher waits for.
func (c *conn) subscribe(channels ...string) {
	if len(channels) == 0 {
		return
	}
	ctx, cancel := c.d.ctx()
	defer cancel()
	if !c.sharded {
		if err := c.ps.Subscribe(ctx, channels...); err != nil {
			c.d.log.Debug("SUBSCRIBE not sent; sent again on reconnect", "err", err)
		}
		return
	}
	for _, ch := range channels {
		if err := c.ps.SSubscribe(ctx, ch); err != nil {
			c.d.log.Debug("SSUBSCRIBE not sent; the shard is routed again", "err", err)
			return
		}
	}
}

// unsubscribe sends (S)UNSUBSCRIBE and reports whether it was sent (and so
// whether a confirmation will follow).
func (c *conn) unsubscribe(channel string) bool {
	ctx, cancel := c.d.ctx()
	defer cancel()
	if c.sharded {
		return c.ps.SUnsubscribe(ctx, channel) == nil
	}
	return c.ps.Unsubscribe(ctx, channel) == nil
}

func (c *conn) close() {
	c.cancel()
	_ = c.ps.Close() // ErrClosed when already closed: nothing to do either way
	<-c.done
}

// read forwards everything the connection receives. After PingInterval of
// silence it pings; after another one without any answer it reports the
// connection stale.
func (c *conn) read(ctx context.Context) {
	defer close(c.done)
	wait := c.d.b.opt.PingInterval
	idle := 0
	backoff := minBackoff
	for {
		msg, err := c.ps.ReceiveTimeout(ctx, wait)
		if ctx.Err() != nil || errors.Is(err, goredis.ErrClosed) {
			return
		}
		switch {
		case err == nil:
			idle, backoff = 0, minBackoff
			if !c.send(ctx, readItem{gen: c.gen, msg: msg}) {
				return
			}
		case isTimeout(err):
			idle++
			if idle > 1 {
				c.send(ctx, readItem{gen: c.gen, stale: true})
				return
			}
			pctx, cancel := context.WithTimeout(ctx, c.d.b.opt.WriteTimeout)
			_ = c.ps.Ping(pctx) // a failed ping shows up as the next read's error
			cancel()
		default:
			idle = 0
			if !c.send(ctx, readItem{gen: c.gen, err: err}) || c.sharded {
				return
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

func (c *conn) send(ctx context.Context, it readItem) bool {
	select {
	case c.d.in <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
