package streamtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
)

// Recorder collects what a client.Subscriber reports.
type Recorder struct {
	Mu        sync.Mutex
	IDs       []string // "topic/id" of every event, in arrival order
	Closes    []int
	Truncated []string
	Opens     int
	got       chan struct{}
	opened    chan struct{}
	closed    chan int
	// Gate, when set, blocks OnEvent (a consumer that stopped reading).
	Gate chan struct{}
	// Timeout bounds Wait; 0 means 10 s.
	Timeout time.Duration
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{got: make(chan struct{}, 1<<16), opened: make(chan struct{}, 64), closed: make(chan int, 64)}
}

func (r *Recorder) options(o client.Options) client.Options {
	o.OnEvent = func(ev client.Event) {
		if r.Gate != nil {
			<-r.Gate
		}
		r.Mu.Lock()
		r.IDs = append(r.IDs, ev.Topic+"/"+ev.ID)
		r.Mu.Unlock()
		r.got <- struct{}{}
	}
	o.OnTruncated = func(topic string) {
		r.Mu.Lock()
		r.Truncated = append(r.Truncated, topic)
		r.Mu.Unlock()
	}
	o.OnState = func(s client.State, err error) {
		switch s {
		case client.Open:
			r.Mu.Lock()
			r.Opens++
			r.Mu.Unlock()
			select {
			case r.opened <- struct{}{}:
			default: // nobody waits for the 64th reconnect; never block the client
			}
		case client.Closed:
			var c *client.Close
			if errors.As(err, &c) {
				r.Mu.Lock()
				r.Closes = append(r.Closes, c.Code)
				r.Mu.Unlock()
				select {
				case r.closed <- c.Code:
				default:
				}
			}
		}
	}
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 20*time.Millisecond
	return o
}

// Run starts a subscriber; stop (also run at the end of the test) stops it
// and waits for it, after which its Cursor may be read.
func (r *Recorder) Run(t *testing.T, o client.Options) (*client.Subscriber, func()) {
	t.Helper()
	s, err := client.New(r.options(o))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx) // ends with ctx.Err() when the test stops it
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if r.Gate != nil {
				select {
				case <-r.Gate:
				default:
					close(r.Gate)
				}
			}
			<-done
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// WaitOpen waits for the subscriber to (re)open.
func (r *Recorder) WaitOpen(t *testing.T) {
	t.Helper()
	select {
	case <-r.opened:
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber did not open")
	}
}

// WaitClose waits for a close from the relay and returns its code.
func (r *Recorder) WaitClose(t *testing.T) int {
	t.Helper()
	select {
	case c := <-r.closed:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no close from the relay")
		return 0
	}
}

// Wait waits for n more events and returns all received so far.
func (r *Recorder) Wait(t *testing.T, n int) []string {
	t.Helper()
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	deadline := time.After(timeout)
	for i := 0; i < n; i++ {
		select {
		case <-r.got:
		case <-deadline:
			r.Mu.Lock()
			defer r.Mu.Unlock()
			t.Fatalf("got %d of %d events (have %d in all; %d opens, closes %v, last %v)", i, n, len(r.IDs), r.Opens, r.Closes, r.IDs[max(0, len(r.IDs)-3):])
		}
	}
	r.Mu.Lock()
	defer r.Mu.Unlock()
	return slices.Clone(r.IDs)
}

// SameEvents fails unless got is exactly want (order per topic kept,
// nothing lost, nothing twice).
func SameEvents(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("events differ:\n got %d %v\nwant %d %v", len(got), clip(got), len(want), clip(want))
	}
}

func clip(s []string) string {
	if len(s) > 12 {
		return fmt.Sprint(s[:6], " … ", s[len(s)-6:])
	}
	return fmt.Sprint(s)
}
