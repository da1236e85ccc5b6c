package hub

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookrelay/hookrelay/infra/bus"
)

// Options configure a Hub. Zero values mean the defaults.
type Options struct {
	QueueSize      int           // events per client before it is kicked as slow (default 256)
	MaxTopics      int           // topics per connection (default 100)
	MaxConnections int           // 0 = unlimited; above it Admit fails
	WriteTimeout   time.Duration // default 10s
	Logger         *slog.Logger
	Registerer     prometheus.Registerer // nil = no metrics
	// OnClose, when set, is called once per connection after it closed
	// (relay/presence lets its members go). It runs on the client's
	// writer and must not block.
	OnClose func(*Client)
}

// Defaults applied by New.
const (
	DefaultQueueSize    = 256
	DefaultMaxTopics    = 100
	DefaultWriteTimeout = 10 * time.Second
)

// sweepEvery is the shared ticker's coarsest period; heartbeats shorter
// than twice this make it tick faster (tests use millisecond heartbeats).
const (
	sweepEvery    = time.Second
	minSweepEvery = 5 * time.Millisecond
)

// Errors Admit and Subscribe return; transports map them to answers.
var (
	ErrOverCapacity      = errors.New("hub: over capacity")
	ErrDraining          = errors.New("hub: draining")
	ErrTooManyTopics     = errors.New("hub: too many topics")
	ErrAlreadySubscribed = errors.New("hub: already subscribed")
	ErrClientClosed      = errors.New("hub: client closed")
)

// Hub fans events out to the connections of this node.
type Hub struct {
	bus bus.Bus
	o   Options
	log *slog.Logger
	m   *metrics

	mu       sync.Mutex
	clients  map[*Client]struct{}
	draining bool
	closed   bool
	empty    chan struct{} // closed when clients empties during a drain
	period   time.Duration // current sweep period, guarded by mu

	// items recycles queue slices: an idle client holds none, a busy one
	// does not allocate a new one per burst.
	items sync.Pool

	// w runs clients' write loops on a few long-lived goroutines
	// (writers.go).
	w writerPool

	n atomic.Int64
	// now is the sweeper's clock (Unix ns at its last tick): writers stamp
	// lastWrite with it instead of reading the clock per delivery.
	now       atomic.Int64
	resweep   chan time.Duration
	stop      chan struct{}
	sweeperWG sync.WaitGroup
}

// New returns a hub fanning out events of b.
func New(b bus.Bus, o Options) *Hub {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = DefaultMaxTopics
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		bus:     b,
		o:       o,
		log:     o.Logger,
		m:       newMetrics(o.Registerer),
		clients: make(map[*Client]struct{}),
		period:  sweepEvery,
		resweep: make(chan time.Duration, 1),
		stop:    make(chan struct{}),
	}
	h.now.Store(time.Now().UnixNano())
	h.w.start()
	h.sweeperWG.Add(1)
	go h.sweeper()
	return h
}

// maxPooledItems keeps a huge replay burst's slice out of the pool.
const maxPooledItems = 512

func (h *Hub) getItems() *[]Item {
	if p, ok := h.items.Get().(*[]Item); ok {
		return p
	}
	q := make([]Item, 0, 8)
	return &q
}

func (h *Hub) putItems(p *[]Item) {
	if cap(*p) > maxPooledItems {
		return
	}
	clear(*p) // drop references to event bytes
	*p = (*p)[:0]
	h.items.Put(p)
}

// Bus returns the bus the hub subscribes to (transports publish through it).
func (h *Hub) Bus() bus.Bus { return h.bus }

// Options returns the hub's options with defaults applied.
func (h *Hub) Options() Options { return h.o }

// Connections returns the number of admitted, not yet closed connections.
func (h *Hub) Connections() int { return int(h.n.Load()) }

// OverCapacity reports whether a new connection would be refused for
// capacity (not for draining).
func (h *Hub) OverCapacity() bool {
	return h.o.MaxConnections > 0 && h.Connections() >= h.o.MaxConnections
}

// Admit registers a new connection written through sink. transport labels
// metrics ("sse", "ws"). It fails with ErrDraining after Drain or Close
// started and with ErrOverCapacity at MaxConnections.
func (h *Hub) Admit(transport string, sink Sink) (*Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining || h.closed {
		return nil, ErrDraining
	}
	if h.o.MaxConnections > 0 && len(h.clients) >= h.o.MaxConnections {
		h.m.rejected.Inc()
		return nil, ErrOverCapacity
	}
	c := newClient(h, transport, sink)
	h.clients[c] = struct{}{}
	h.n.Add(1)
	h.m.connections.WithLabelValues(transport).Inc()
	return c, nil
}

// remove unregisters c once its connection is closed.
func (h *Hub) remove(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	h.n.Add(-1)
	h.m.connections.WithLabelValues(c.transport).Dec()
	if len(h.clients) == 0 && h.empty != nil {
		close(h.empty)
		h.empty = nil
	}
}

// Drain refuses new connections, then closes every client (WS 1012, SSE
// `retry:` with jitter and a close event) in staggered batches spread over
// spread, so that clients do not reconnect to the other nodes all at once.
// It returns when every client is closed or ctx is done; when ctx ends
// early the remaining clients are closed at once.
func (h *Hub) Drain(ctx context.Context, spread time.Duration) {
	h.mu.Lock()
	h.draining = true
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	var empty chan struct{}
	if len(h.clients) > 0 {
		if h.empty == nil {
			h.empty = make(chan struct{})
		}
		empty = h.empty
	}
	h.mu.Unlock()
	if empty == nil {
		return
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	batches := drainBatches(len(all), spread)
	step := time.Duration(0)
	if batches > 1 {
		step = spread / time.Duration(batches)
	}
	t := time.NewTimer(step)
	defer t.Stop()
	for i := 0; i < batches; i++ {
		lo, hi := i*len(all)/batches, (i+1)*len(all)/batches
		for _, c := range all[lo:hi] {
			c.kick(ReasonDrain, retryJitter(spread))
		}
		if i == batches-1 {
			break
		}
		t.Reset(step)
		select {
		case <-t.C:
		case <-ctx.Done():
			for _, c := range all[hi:] {
				c.kick(ReasonDrain, retryJitter(spread))
			}
			return
		}
	}
	select {
	case <-empty:
	case <-ctx.Done():
	}
}

// drainBatches spreads n closes over spread in batches at least 50 ms apart.
func drainBatches(n int, spread time.Duration) int {
	b := int(spread / (50 * time.Millisecond))
	return max(1, min(b, n))
}

// retryJitter is the SSE reconnect hint sent on drain: 1 s plus a uniform
// share of the drain window capped at 10 s, so reconnects spread out
// without leaving clients waiting for minutes.
func retryJitter(spread time.Duration) time.Duration {
	window := min(spread, 10*time.Second)
	if window <= 0 {
		return time.Second
	}
	return time.Second + rand.N(window)
}

// Close closes every client at once (1012) and stops the hub's ticker. It
// does not close the bus.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	close(h.stop)
	h.sweeperWG.Wait()
	for _, c := range all {
		c.kick(ReasonDrain, retryJitter(time.Second))
	}
	for _, c := range all {
		<-c.done
	}
	h.w.close()
}

// sweeper is the shared timer wheel: one goroutine for every connection's
// heartbeat and token expiry, instead of a timer per connection.
func (h *Hub) sweeper() {
	defer h.sweeperWG.Done()
	period := sweepEvery
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case p := <-h.resweep:
			if p < period {
				period = p
				t.Reset(period)
			}
		case now := <-t.C:
			h.sweep(now)
		}
	}
}

func (h *Hub) sweep(now time.Time) {
	nowNS := now.UnixNano()
	h.now.Store(nowNS)
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if exp := c.expires.Load(); exp != 0 && nowNS >= exp {
			c.kick(ReasonTokenExpired, 0)
			continue
		}
		beat := c.beat.Load()
		if beat == 0 {
			continue
		}
		last := c.lastWrite.Load()
		if c.pingEvery.Load() {
			last = c.lastBeat.Load()
		}
		// lastWrite is stamped with the previous tick's time, up to a
		// period before the write: a beat goes out after between beat
		// minus one period and beat plus one period of silence.
		if nowNS-last >= beat {
			c.heartbeat(nowNS)
		}
	}
}

// wantPeriod makes the sweeper tick at least every d/2.
func (h *Hub) wantPeriod(d time.Duration) {
	p := max(d/2, minSweepEvery)
	h.mu.Lock()
	defer h.mu.Unlock()
	if p >= h.period {
		return
	}
	h.period = p
	// Under h.mu only one goroutine sends and the sweeper only receives, so
	// emptying the one-slot channel first makes the send never block.
	select {
	case <-h.resweep:
	default:
	}
	h.resweep <- p
}
