package console

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/fleet"
)

func (c *console) fleet(w http.ResponseWriter, r *http.Request) error {
	if c.o.Fleet == nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "no fleet store")
	}
	rs, err := c.o.Fleet.List(r.Context())
	if err != nil {
		return refuse(apierr.CodeBusUnavailable, http.StatusServiceUnavailable, err.Error())
	}
	if rs == nil {
		rs = []fleet.Record{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"relays": rs, "now": c.o.Now()})
}

// Live tail: a bounded queue per tail, so a slow browser costs at most
// tailQueue events and never slows the bus; what overflows is counted and
// told to the page.
const (
	tailQueue     = 256
	tailHeartbeat = 15 * time.Second
	tailWriteWait = 10 * time.Second
)

type tailSink struct {
	ch      chan []byte
	dropped atomic.Int64
}

func (s *tailSink) Deliver(d bus.Delivery) {
	select {
	case s.ch <- d.JSON:
	default:
		s.dropped.Add(1)
	}
}

func (s *tailSink) Truncated(string) {}

// tail streams ?topic=… as Server-Sent Events (live, from now on).
func (c *console) tail(w http.ResponseWriter, r *http.Request) error {
	topic := r.URL.Query().Get("topic")
	if err := event.ValidateTopic(topic); err != nil {
		return refuse(apierr.CodeBadTopic, http.StatusBadRequest, err.Error())
	}
	if c.o.Bus == nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "no bus")
	}
	select {
	case c.tails <- struct{}{}:
		defer func() { <-c.tails }()
	default:
		return refuse(apierr.CodeRateLimited, http.StatusTooManyRequests, fmt.Sprintf("at most %d live tails per relay", cap(c.tails)))
	}
	sink := &tailSink{ch: make(chan []byte, tailQueue)}
	sub, err := c.o.Bus.Subscribe(r.Context(), []string{topic}, nil, sink)
	if err != nil {
		return refuse(apierr.CodeBusUnavailable, http.StatusServiceUnavailable, err.Error())
	}
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(s string) bool {
		// Deadline per write: a browser that stops reading is dropped.
		_ = rc.SetWriteDeadline(time.Now().Add(tailWriteWait))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": tailing " + topic + "\n\n") {
		return nil
	}
	beat := time.NewTicker(tailHeartbeat)
	defer beat.Stop()
	var told int64
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-c.o.Closing:
			write("event: closing\ndata: the relay is shutting down\n\n")
			return nil
		case <-beat.C:
			if !write(": heartbeat\n\n") {
				return nil
			}
		case b := <-sink.ch:
			msg := "data: " + string(b) + "\n\n"
			if d := sink.dropped.Load(); d != told {
				msg = fmt.Sprintf("event: dropped\ndata: %d\n\n", d) + msg
				told = d
			}
			if !write(msg) {
				return nil
			}
		}
	}
}
