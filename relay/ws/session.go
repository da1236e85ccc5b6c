package ws

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// session is one connection's reader side. It runs on the handler
// goroutine; it never writes to conn (answers are queued on the client).
type session struct {
	s      *handler
	c      *hub.Client
	conn   *websocket.Conn
	grants *auth.Grants
	// br is gorilla's read buffer and raw the socket, when the handshake
	// handed us both (see reader.go); otherwise the reader parks in
	// ReadMessage.
	br  *bufio.Reader
	raw syscall.RawConn
	// readDeadline mirrors the conn's read deadline (Unix ns) for the
	// poller's sweep, which closes parked connections past it.
	readDeadline atomic.Int64
	// msgDeadline (Unix ns) is when the message being read must be
	// complete; 0 between messages. Pongs never move the read deadline
	// past it.
	msgDeadline atomic.Int64
	// churn bounds subscribe and unsubscribe frames (Options.SubscribeRate).
	churn churnBucket
}

func (ss *session) run() {
	if ss.readLoop() {
		return // parked: the poller resumes it when bytes arrive
	}
	ss.c.Close()
}

// extendRead moves the read deadline a pong wait ahead, but never past the
// deadline of a message being read.
func (ss *session) extendRead() error {
	d := time.Now().Add(ss.s.o.PongWait)
	if md := ss.msgDeadline.Load(); md != 0 && md < d.UnixNano() {
		d = time.Unix(0, md)
	}
	ss.readDeadline.Store(d.UnixNano())
	return ss.conn.SetReadDeadline(d)
}

// readLoop reads until the connection ends (false) or it is parked in the
// poller (true).
func (ss *session) readLoop() bool {
	pongWait := ss.s.o.PongWait
	_ = ss.extendRead() // errors surface on the next read
	ss.conn.SetPongHandler(func(string) error { return ss.extendRead() })
	if ss.br != nil && ss.raw != nil {
		return ss.readParked(pongWait)
	}
	for {
		if !ss.readOne(pongWait, true) {
			return false
		}
	}
}

// readParked is the reader of reader.go. With the poller, an idle
// connection has no goroutine at all (true: parked). Without it this
// goroutine only waits for the socket to become readable, and what arrived
// is read on a short-lived one.
func (ss *session) readParked(pongWait time.Duration) bool {
	for {
		if ss.br.Buffered() == 0 {
			releaseReadBuffer(ss.br)
			if p := ss.s.poller(); p != nil && p.park(ss) {
				return true
			}
			if err := waitReadable(ss.raw); err != nil {
				ss.s.log.Debug("ws read ended", "err", err)
				return false
			}
			restoreReadBuffer(ss.br, ss.conn.UnderlyingConn())
		}
		ok := make(chan bool, 1)
		go func() { ok <- ss.readAvailable(pongWait) }()
		if !<-ok {
			return false
		}
	}
}

// resume runs on a fresh goroutine when a parked connection has bytes: it
// reads them, then parks the connection again (the goroutine ends).
func (ss *session) resume() {
	restoreReadBuffer(ss.br, ss.conn.UnderlyingConn())
	if ss.readAvailable(ss.s.o.PongWait) && ss.readParked(ss.s.o.PongWait) {
		return
	}
	ss.c.Close()
}

// readAvailable reads what the socket has: the control frames at the front
// itself, then at most one message through gorilla (a data frame once
// started is completed; a close frame ends the connection).
func (ss *session) readAvailable(pongWait time.Duration) bool {
	if _, err := ss.br.Peek(1); err != nil {
		ss.s.log.Debug("ws read ended", "err", err)
		return false
	}
	if err := consumeControl(ss.br, ss.extendRead, answerPing(ss.conn, ss.s.o.WriteTimeout)); err != nil {
		ss.s.log.Debug("ws control frame", "err", err)
		return false
	}
	if ss.br.Buffered() == 0 {
		return true
	}
	return ss.readOne(pongWait, false) // already off the long-lived stack
}

// readOne reads and handles one message; false ends the connection.
// offStack handles it on a short-lived goroutine (see handleOffStack).
func (ss *session) readOne(pongWait time.Duration, offStack bool) bool {
	typ, data, err := ss.readMessage()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			// gorilla has already sent 1009; count it, and let the close
			// frame reach the client before the socket closes.
			ss.s.m.errors.WithLabelValues(apierr.CodeTooLarge).Inc()
			drainBeforeClose(ss.conn.UnderlyingConn())
			return false
		}
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			ss.s.log.Debug("ws read ended", "err", err)
		}
		return false
	}
	_ = ss.conn.SetReadDeadline(time.Now().Add(pongWait)) // errors surface on the next read
	if typ != websocket.TextMessage {
		ss.fail(errFrame("", apierr.CodeBadRequest, "binary frames are not part of the protocol"))
		return true
	}
	if offStack {
		ss.handleOffStack(data)
	} else {
		ss.handle(data)
	}
	return true
}

// readMessage is gorilla's ReadMessage with a deadline on the message:
// once a data frame has started, the whole message must arrive within
// MessageTimeout whatever pongs arrive meanwhile.
func (ss *session) readMessage() (int, []byte, error) {
	typ, r, err := ss.conn.NextReader()
	if err != nil {
		return typ, nil, err
	}
	md := time.Now().Add(ss.s.o.MessageTimeout)
	ss.msgDeadline.Store(md.UnixNano())
	defer ss.msgDeadline.Store(0)
	if time.Unix(0, ss.readDeadline.Load()).After(md) {
		ss.readDeadline.Store(md.UnixNano())
		_ = ss.conn.SetReadDeadline(md) // errors surface on the read below
	}
	data, err := io.ReadAll(r)
	return typ, data, err
}

// handleOffStack handles a frame on a short-lived goroutine and waits for
// it. Decoding, subscribing and publishing grow a stack to 8 KiB, and the
// runtime never shrinks a stack that uses a quarter of it, so handling on
// the reader would leave every idle connection holding 8 KiB of stack; the
// reader itself only ever needs the read path.
func (ss *session) handleOffStack(data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ss.handle(data)
	}()
	<-done
}

func (ss *session) handle(data []byte) {
	f, ferr := parseClientFrame(data, ss.s.h.Options().MaxTopics)
	if ferr != nil {
		ss.fail(ferr)
		return
	}
	ss.s.m.frames.WithLabelValues(f.Op).Inc()
	// Requests run while the reader waits for them, so a per-connection
	// context would never be cancelled before they return; deriving
	// from one left its children map and Done channel (~450 B) on every
	// idle connection. A closing client ends a replay through the hub.
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if (f.Op == "subscribe" || f.Op == "unsubscribe") && !ss.allowChurn(f) {
		return
	}
	switch f.Op {
	case "subscribe":
		ss.subscribe(ctx, f)
	case "unsubscribe":
		removed := ss.c.Unsubscribe(f.Topics)
		ss.s.o.Presence.Leave(ss.c, removed)
		ss.c.Send(mustJSON(struct {
			Op     string   `json:"op"`
			Ref    string   `json:"ref,omitempty"`
			Topics []string `json:"topics"`
		}{"unsubscribed", f.Ref, nonNil(removed)}))
	case "publish":
		ss.publish(ctx, f)
	case "auth":
		ss.auth(ctx, f)
	}
}

// allowChurn charges a subscribe or unsubscribe frame, one token per
// topic, to the connection's bucket; over the rate the frame is answered
// with rate_limited and not carried out.
func (ss *session) allowChurn(f *clientFrame) bool {
	o := ss.s.o
	if o.SubscribeRate <= 0 {
		return true
	}
	ok, wait := ss.churn.take(time.Now(), o.SubscribeRate, o.SubscribeBurst, len(f.Topics))
	if !ok {
		ss.fail(errFrame(f.Ref, apierr.CodeRateLimited, "%s rate exceeded (%g topics/s per connection), retry in %s", f.Op, o.SubscribeRate, wait.Round(time.Millisecond)))
	}
	return ok
}

func (ss *session) fail(e *frameError) {
	ss.s.m.errors.WithLabelValues(e.Code).Inc()
	ss.c.Send(encodeError(e))
}

func (ss *session) subscribe(ctx context.Context, f *clientFrame) {
	for _, t := range f.Topics {
		if !ss.grants.CanSubscribe(t) {
			ss.fail(errFrame(f.Ref, apierr.CodeForbidden, "no subscribe grant for topic %s", t))
			return
		}
	}
	plan, err := ss.c.Resolve(ctx, f.Topics, f.cursor)
	if err == nil {
		err = ss.c.Subscribe(ctx, plan, &hub.Ack{Ref: f.Ref, Topics: f.Topics})
	}
	if err != nil {
		ss.failOp(f.Ref, "subscribe", err)
		return
	}
	ss.s.o.Presence.Join(ss.c, f.Topics, member(ss.grants), f.Presence)
}

func (ss *session) publish(ctx context.Context, f *clientFrame) {
	if !ss.grants.CanPublish(f.Topic) {
		ss.fail(errFrame(f.Ref, apierr.CodeForbidden, "no publish grant for topic %s", f.Topic))
		return
	}
	m := f.msg
	if len(m.Data) > ss.s.o.MaxEventBytes {
		ss.fail(errFrame(f.Ref, apierr.CodeTooLarge, "data is %d bytes, at most %d", len(m.Data), ss.s.o.MaxEventBytes))
		return
	}
	key := auth.TokenSubjectPrefix + ss.grants.Subject
	if nt := ss.s.o.NewTopics; nt != nil && !nt(key, f.Topic) {
		ss.fail(errFrame(f.Ref, apierr.CodeRateLimited, "too many distinct topics published this hour (HOOKRELAY_TOKEN_TOPICS_PER_HOUR)"))
		return
	}
	if lim := ss.s.o.PublishLimit; lim != nil {
		if ok, wait := lim(key); !ok {
			ss.fail(errFrame(f.Ref, apierr.CodeRateLimited, "publish rate exceeded, retry in %s", wait.Round(time.Millisecond)))
			return
		}
	}
	m.IdempotencyKey = bus.ScopedKey(key, m.IdempotencyKey)
	m.DedupTTL = ss.s.o.DedupTTL
	m.Source = ss.grants.Source() // who sent it, as the token says
	pub, err := ss.s.h.Bus().Publish(ctx, []bus.Message{m})
	if err != nil {
		ss.failOp(f.Ref, "publish", err)
		return
	}
	ss.c.Send(mustJSON(struct {
		Op     string        `json:"op"`
		Ref    string        `json:"ref,omitempty"`
		Events []bus.Receipt `json:"events"`
	}{"published", f.Ref, bus.Receipts(pub)}))
}

// auth replaces the connection's grants with a fresh token's, moving the
// expiry. The subject must stay the same and every topic subscribed now
// must stay granted: a refresh is not a way to change who is connected.
func (ss *session) auth(ctx context.Context, f *clientFrame) {
	v := ss.s.o.Verifier
	if v == nil {
		ss.fail(errFrame(f.Ref, apierr.CodeBadRequest, "this relay does not accept token refresh"))
		return
	}
	// The same answer as the token gets on the upgrade, SSE and the HTTP
	// API (api.Authenticate): token_expired, unauthorized with the
	// verifier's reason, or internal with the cause logged.
	g, e := api.Verify(ctx, v, f.Token)
	if e != nil {
		ss.failOp(f.Ref, "auth", e)
		return
	}
	if ss.grants.Subject != "" && g.Subject != ss.grants.Subject {
		ss.fail(errFrame(f.Ref, apierr.CodeForbidden, "token is for another subject"))
		return
	}
	for _, t := range ss.c.Topics() {
		if !g.CanSubscribe(t) {
			ss.fail(errFrame(f.Ref, apierr.CodeForbidden, "new token does not grant subscribed topic %s", t))
			return
		}
	}
	ss.grants = g
	ss.c.SetExpiry(g.ExpiresAt)
	ack := struct {
		Op        string `json:"op"`
		Ref       string `json:"ref,omitempty"`
		ExpiresAt string `json:"expires_at,omitempty"`
	}{Op: "authed", Ref: f.Ref}
	if !g.ExpiresAt.IsZero() {
		ack.ExpiresAt = g.ExpiresAt.UTC().Format(time.RFC3339)
	}
	ss.c.Send(mustJSON(ack))
}

// failOp answers a failed op with the catalogue's entry for err
// (api.Classify, as SSE and the HTTP API) as an error frame.
func (ss *session) failOp(ref, op string, err error) {
	if errors.Is(err, hub.ErrClientClosed) {
		return // the connection is going away; nobody to tell
	}
	e := api.Classify(err)
	if e.Code == apierr.CodeInternal {
		ss.s.log.Error("ws "+op, "err", err)
	}
	ss.fail(&frameError{Ref: ref, Code: e.Code, Message: e.Message})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
