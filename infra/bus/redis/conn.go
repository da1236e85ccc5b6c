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

// conn is one pub/sub connection and the goroutine reading it. go-redis
// reconnects it and re-SUBSCRIBEs by itself after an error; the dispatcher
// replaces it whole when it goes silent or must re-authenticate.
type conn struct {
	d      *dispatcher
	gen    int
	ps     *goredis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

func (d *dispatcher) newConn(gen int) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{d: d, gen: gen, ps: d.b.client.Subscribe(ctx), cancel: cancel, done: make(chan struct{})}
	go c.read(ctx)
	return c
}

// subscribe sends SUBSCRIBE. A failure needs no handling here: go-redis
// records the channels and subscribes them when it reconnects, and the
// confirmation is what the dispatcher waits for.
func (c *conn) subscribe(channels ...string) {
	if len(channels) == 0 {
		return
	}
	ctx, cancel := c.d.ctx()
	defer cancel()
	if err := c.ps.Subscribe(ctx, channels...); err != nil {
		c.d.log.Debug("SUBSCRIBE not sent; sent again on reconnect", "err", err)
	}
}

// unsubscribe sends UNSUBSCRIBE and reports whether it was sent (and so
// whether a confirmation will follow).
func (c *conn) unsubscribe(channel string) bool {
	ctx, cancel := c.d.ctx()
	defer cancel()
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
			if !c.send(ctx, readItem{gen: c.gen, err: err}) {
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
