package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
)

// Subscribe registers h for topics. It returns once every topic's channel is
// SUBSCRIBEd (confirmed by Redis) and the events after the positions in from
// have been delivered; from then on the dispatcher delivers live events.
// The wait is bounded by ctx and Options.SubscribeTimeout.
//
// Handler methods run on the bus's single dispatcher goroutine and must not
// block: a slow handler delays every topic of this Bus. A handler may call
// Close on its own subscription.
func (b *Bus) Subscribe(ctx context.Context, topics []string, from event.Cursor, h bus.Handler) (bus.Subscription, error) {
	if b.isClosed() {
		return nil, fmt.Errorf("redis bus: subscribe: %w", bus.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis bus: subscribe: %w", err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribe: nil handler: %w", bus.ErrInvalid)
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("subscribe: no topics: %w", bus.ErrInvalid)
	}
	uniq := make([]string, 0, len(topics))
	seen := make(map[string]bool, len(topics))
	for _, t := range topics {
		if err := validTopic(t); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	sub := &subscription{d: b.disp, h: h, topics: uniq, last: make(map[string]event.ID, len(uniq))}
	req := &subReq{sub: sub, from: from, done: make(chan error, 1)}

	ctx, cancel := context.WithTimeout(ctx, b.opt.SubscribeTimeout)
	defer cancel()
	b.disp.enqueue(subscribeCmd{req})
	select {
	case err := <-req.done:
		if err != nil {
			return nil, err
		}
		return sub, nil
	case <-b.closed:
		return nil, fmt.Errorf("redis bus: subscribe: %w", bus.ErrClosed)
	case <-ctx.Done():
	}
	if !req.cancel() {
		// The replay had already started: it is bounded by Redis timeouts,
		// and its outcome decides whether anything was delivered.
		if err := <-req.done; err != nil {
			return nil, err
		}
		return sub, nil
	}
	b.disp.enqueue(cancelCmd{req})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("redis bus: subscribe %v: no SUBSCRIBE confirmation or replay within the deadline: %w", uniq, bus.ErrUnavailable)
	}
	return nil, fmt.Errorf("redis bus: subscribe %v: %w", uniq, ctx.Err())
}

// subReq is a Subscribe call waiting for its topics to be confirmed.
type subReq struct {
	sub  *subscription
	from event.Cursor
	done chan error // buffered: the dispatcher never blocks on it

	queued bool // in the dispatcher's startable list; dispatcher-owned

	mu    sync.Mutex
	state reqState
}

type reqState int

const (
	reqWaiting reqState = iota
	reqStarted
	reqCancelled
)

// cancel marks the request cancelled unless its replay has started.
func (r *subReq) cancel() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == reqStarted {
		return false
	}
	r.state = reqCancelled
	return true
}

// start marks the request started unless its caller gave up.
func (r *subReq) start() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == reqCancelled {
		return false
	}
	r.state = reqStarted
	return true
}

// subscription is one Subscribe call's live registration.
type subscription struct {
	d      *dispatcher
	h      bus.Handler
	topics []string
	// last is the last id delivered per topic; owned by the dispatcher.
	last map[string]event.ID

	// mu is held during every handler call, so Close can wait for the one
	// in progress.
	mu     sync.Mutex
	closed atomic.Bool
	once   sync.Once
}

// Close stops delivery. After it returns no handler call is in progress or
// will start. Called from inside a handler (on the dispatcher goroutine) it
// cannot wait for the call it is part of, and does not need to.
func (s *subscription) Close() {
	s.once.Do(func() {
		if goroutineID() == s.d.goid.Load() {
			// On the dispatcher goroutine no call to this subscription
			// can be in progress but the one (if any) we are inside.
			s.closed.Store(true)
		} else {
			// Taking the lock waits for the handler call in progress.
			s.mu.Lock()
			s.closed.Store(true)
			s.mu.Unlock()
		}
		s.d.enqueue(closeCmd{s})
	})
}

func (s *subscription) deliver(d bus.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.h.Deliver(d)
	}
}

func (s *subscription) truncated(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.h.Truncated(topic)
	}
}

// goroutineID reads the current goroutine's id from its stack header
// ("goroutine 123 [running]:"). Only Close uses it, to tell a call from
// inside a handler (which must not wait for itself) from any other.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0 // never the dispatcher's id, so Close waits: the safe choice
	}
	return id
}
