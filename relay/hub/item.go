package hub

import (
	"github.com/hookrelay/hookrelay/infra/event"
)

// Kind says what a queued Item is.
type Kind uint8

// Item kinds a Sink encodes.
const (
	// KindEvent is an event: Topic, ID and JSON (shared bytes, never modify).
	KindEvent Kind = iota + 1
	// KindTruncated says events of Topic after the client's position are gone.
	KindTruncated
	// KindReady ends a subscription's replay: SSE `event: ready`, WS
	// `subscribed` ack (Ack set). Its cursor is c.AppendCursor at write time.
	KindReady
	// KindBeat asks for a heartbeat (SSE comment, WS ping).
	KindBeat
	// KindFrame is a pre-encoded transport frame in JSON (WS acks, errors).
	KindFrame
	// KindPresence is a presence update of Topic: JSON is a JSON object
	// shared by every watcher (relay/presence); SSE writes it as
	// `event: presence`, WS as {"op":"presence",...}.
	KindPresence
)

// Item is one queued thing to write.
type Item struct {
	Kind  Kind
	Topic string
	ID    event.ID
	JSON  []byte
	Ack   *Ack
}

// Ack identifies the request a KindReady item answers (WS subscribe).
type Ack struct {
	Ref    string
	Topics []string
}

// Reason is why the hub closed a connection; transports turn it into a close
// code (WS close frame, SSE close event).
type Reason uint8

// Close reasons.
const (
	// ReasonNone: the peer went away or a write failed; nothing is sent.
	ReasonNone Reason = iota
	// ReasonDrain: the node is restarting (1012); reconnect elsewhere.
	ReasonDrain
	// ReasonTokenExpired: the credential's ExpiresAt passed (4001).
	ReasonTokenExpired
	// ReasonSlowConsumer: the queue overflowed (4008); resume from the cursor.
	ReasonSlowConsumer
	// ReasonPolicy: a policy violation (1008).
	ReasonPolicy
	// ReasonTooBig: a frame exceeded the read limit (1009).
	ReasonTooBig
	// ReasonRateLimited: too many requests (4029).
	ReasonRateLimited
	// ReasonInternal: a server error (1011).
	ReasonInternal
)

// Code is the WebSocket close code, also used in SSE close events.
func (r Reason) Code() int {
	switch r {
	case ReasonDrain:
		return 1012
	case ReasonTokenExpired:
		return 4001
	case ReasonSlowConsumer:
		return 4008
	case ReasonPolicy:
		return 1008
	case ReasonTooBig:
		return 1009
	case ReasonRateLimited:
		return 4029
	case ReasonInternal:
		return 1011
	}
	return 0
}

// Text is the human reason sent with the code.
func (r Reason) Text() string {
	switch r {
	case ReasonDrain:
		return "restart"
	case ReasonTokenExpired:
		return "token expired"
	case ReasonSlowConsumer:
		return "slow consumer"
	case ReasonPolicy:
		return "policy violation"
	case ReasonTooBig:
		return "frame too big"
	case ReasonRateLimited:
		return "rate limited"
	case ReasonInternal:
		return "internal error"
	}
	return ""
}

// Label is the metrics label value.
func (r Reason) Label() string {
	switch r {
	case ReasonDrain:
		return "drain"
	case ReasonTokenExpired:
		return "token_expired"
	case ReasonSlowConsumer:
		return "slow_consumer"
	case ReasonPolicy:
		return "policy"
	case ReasonTooBig:
		return "too_big"
	case ReasonRateLimited:
		return "rate_limited"
	case ReasonInternal:
		return "internal"
	}
	return "gone"
}
