// Package client is hookrelay's Go subscriber: it speaks the relay's SSE and
// WebSocket protocols (docs/protocol.md), reconnects with exponential backoff
// and full jitter, and resumes from its cursor so that a disconnect loses and
// duplicates nothing. The load tool, the chaos suite and the relay's process
// tests use it; backends can too.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"
)

// Transport selects the wire protocol.
type Transport string

// The two transports.
const (
	SSE       Transport = "sse"
	WebSocket Transport = "ws"
)

// Event is one received event. Raw is the event JSON exactly as the relay
// sent it; ID, Topic and Type are decoded from it.
type Event struct {
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	Raw   []byte          `json:"-"`
}

// State is a connection state reported to OnState.
type State string

// States, in the order a connection goes through them.
const (
	Connecting State = "connecting"
	Open       State = "open" // replay done: the relay sent ready / subscribed
	Closed     State = "closed"
)

// Close is a relay-initiated close: WebSocket close code or SSE close event.
type Close struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func (c *Close) Error() string { return fmt.Sprintf("closed by relay: %d %s", c.Code, c.Reason) }

// Options configure a subscriber. BaseURL and Topics are required.
type Options struct {
	BaseURL   string // e.g. http://127.0.0.1:8080
	Topics    []string
	Transport Transport // default SSE
	// Token is sent as Authorization: Bearer. TokenFunc, when set, is asked
	// for a fresh token before every connection attempt (expiry, rotation).
	Token     string
	TokenFunc func(ctx context.Context) (string, error)
	// Cursor to resume from on the first connection (SSE only: a WebSocket
	// client resumes per topic from the ids it has seen).
	Cursor string

	OnEvent     func(Event)
	OnTruncated func(topic string)
	OnState     func(s State, err error)

	// Backoff between reconnects: full jitter over min*2^n, capped at max,
	// reset after a connection stayed open for HealthyAfter.
	MinBackoff, MaxBackoff, HealthyAfter time.Duration
	// Dialer lets a load generator pick a source address (LocalAddr).
	Dialer *net.Dialer
	// Once disables reconnecting: Run returns after the first connection ends.
	Once bool
}

func (o *Options) defaults() error {
	if o.BaseURL == "" || len(o.Topics) == 0 {
		return errors.New("client: BaseURL and Topics are required")
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Transport == "" {
		o.Transport = SSE
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.HealthyAfter <= 0 {
		o.HealthyAfter = 10 * time.Second
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	}
	if o.OnEvent == nil {
		o.OnEvent = func(Event) {}
	}
	if o.OnTruncated == nil {
		o.OnTruncated = func(string) {}
	}
	if o.OnState == nil {
		o.OnState = func(State, error) {}
	}
	return nil
}

// Subscriber holds the resume position across connections.
type Subscriber struct {
	opts Options
	// cursor is the SSE cursor (the id of the last frame that had one).
	cursor string
	// lastID is the last event id per topic (the WebSocket resume position).
	lastID map[string]string
	http   *http.Client
}

// New validates opts and returns a subscriber; call Run to connect.
func New(opts Options) (*Subscriber, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	s := &Subscriber{opts: opts, cursor: opts.Cursor, lastID: make(map[string]string, len(opts.Topics))}
	s.http = &http.Client{Transport: &http.Transport{
		DialContext:         opts.Dialer.DialContext,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}}
	return s, nil
}

// Run connects and reconnects until ctx is done (or after one connection
// with Options.Once). It returns ctx.Err(), or the last error with Once.
func (s *Subscriber) Run(ctx context.Context) error {
	attempt := 0
	for {
		s.opts.OnState(Connecting, nil)
		start := time.Now()
		err := s.connectOnce(ctx)
		s.opts.OnState(Closed, err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.opts.Once {
			return err
		}
		if time.Since(start) >= s.opts.HealthyAfter {
			attempt = 0
		}
		wait := s.backoff(attempt, err)
		attempt++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Cursor returns the SSE resume cursor held now.
func (s *Subscriber) Cursor() string { return s.cursor }

func (s *Subscriber) connectOnce(ctx context.Context) error {
	token := s.opts.Token
	if s.opts.TokenFunc != nil {
		t, err := s.opts.TokenFunc(ctx)
		if err != nil {
			return fmt.Errorf("get token: %w", err)
		}
		token = t
	}
	if s.opts.Transport == WebSocket {
		return s.runWS(ctx, token)
	}
	return s.runSSE(ctx, token)
}

// backoff is full jitter: a uniform wait in [0, min(max, min*2^attempt)].
// A drain close (1012) asks clients to spread out, which jitter already does.
func (s *Subscriber) backoff(attempt int, _ error) time.Duration {
	ceil := s.opts.MinBackoff << min(attempt, 20)
	if ceil <= 0 || ceil > s.opts.MaxBackoff {
		ceil = s.opts.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func (s *Subscriber) deliver(raw []byte) error {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	ev.Raw = raw
	s.lastID[ev.Topic] = ev.ID
	s.opts.OnEvent(ev)
	return nil
}
