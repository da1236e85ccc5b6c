package ws

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// closeEchoWait bounds how long a refused connection waits for the
// client's answer to its close frame. Closing at once would reset a socket
// that still has the client's first frames unread, and a reset can destroy
// the close frame before the client reads it (it would see 1006 and lose
// the reason and the retry hint).
const closeEchoWait = time.Second

// Refuse answers a connection the relay cannot take now (draining, at
// capacity, the address over its cap) by completing the upgrade and
// closing at once with the refusal's close code (1012, 1013, 4029) and
// "<reason>;retry=<ms>" as the close reason: a browser cannot read the
// status of a refused handshake (it only sees 1006), so an HTTP 503 or
// 429 would look like a network failure. Permanent refusals (bad token,
// origin) stay HTTP errors before the upgrade (docs/protocol.md).
func (s *handler) Refuse(w http.ResponseWriter, r *http.Request, rf *api.Refusal) {
	if !s.checkUpgrade(w, r) {
		return
	}
	s.m.rejects.WithLabelValues(rf.Reason).Inc()
	up := websocket.Upgrader{
		HandshakeTimeout: s.up.HandshakeTimeout,
		CheckOrigin:      s.o.CheckOrigin,
		Error:            s.up.Error,
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the request already
	}
	defer conn.Close()
	msg := websocket.FormatCloseMessage(rf.Code, rf.Text())
	if err := conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.o.WriteTimeout)); err != nil {
		s.log.Debug("ws refusal", "reason", rf.Reason, "err", err)
		return
	}
	// Read (and drop) what the client sent until its close answer, the
	// deadline or an error: then closing does not reset the socket.
	_ = conn.SetReadDeadline(time.Now().Add(closeEchoWait)) // errors surface on the read
	conn.SetReadLimit(s.o.ReadLimit)
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

// drainBeforeClose reads and drops what the client still sends (the rest
// of an oversized frame, its close answer) for up to closeEchoWait and at
// most drainLimit bytes, after a close frame was written. Closing a socket
// with unread bytes resets it, and the reset can destroy the close frame
// before the client reads it: a browser then sees 1006 instead of 1009 and
// retries a frame that will never fit.
func drainBeforeClose(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(closeEchoWait))      // errors surface on the read
	_, _ = io.Copy(io.Discard, io.LimitReader(c, drainLimit)) // ends at EOF, the deadline or the limit
}

// drainLimit bounds drainBeforeClose: a client cannot keep the relay
// reading by streaming.
const drainLimit = 1 << 20

// refusalOf maps a failed Admit to the refusal to send.
func refusalOf(err error) *api.Refusal {
	if errors.Is(err, hub.ErrOverCapacity) {
		return api.NewRefusal(api.RefuseOverCapacity)
	}
	return api.NewRefusal(api.RefuseRestart) // hub.ErrDraining
}
