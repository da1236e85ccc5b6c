package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
)

// wsFrame is every server frame; fields are filled per op.
type wsFrame struct {
	Op      string            `json:"op"`
	Ref     string            `json:"ref"`
	Topic   string            `json:"topic"`
	Topics  []string          `json:"topics"`
	Cursor  string            `json:"cursor"`
	Events  []json.RawMessage `json:"events"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
}

// ProtocolError is an error frame the relay sent for one of our requests.
type ProtocolError struct {
	Code, Message string
}

func (e *ProtocolError) Error() string { return "relay error " + e.Code + ": " + e.Message }

// runWS holds one WebSocket connection: one subscribe frame per topic, each
// with that topic's last seen id as its cursor, so every topic resumes
// exactly where it stopped.
func (s *Subscriber) runWS(ctx context.Context, token string) error {
	u := "ws" + strings.TrimPrefix(s.opts.BaseURL, "http") + "/v1/ws"
	d := websocket.Dialer{NetDialContext: s.opts.Dialer.DialContext, HandshakeTimeout: s.opts.Dialer.Timeout}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	conn, resp, err := d.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil {
			return &HTTPError{Status: resp.StatusCode}
		}
		return fmt.Errorf("ws connect: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	pending := make(map[string]bool, len(s.opts.Topics))
	for i, t := range s.opts.Topics {
		ref := strconv.Itoa(i + 1)
		pending[ref] = true
		frame := map[string]any{"op": "subscribe", "ref": ref, "topics": []string{t}}
		if id := s.lastID[t]; id != "" {
			frame["cursor"] = id
		}
		if err := conn.WriteJSON(frame); err != nil {
			return fmt.Errorf("ws subscribe: %w", err)
		}
	}
	return s.readWS(conn, pending)
}

func (s *Subscriber) readWS(conn *websocket.Conn, pending map[string]bool) error {
	for {
		var f wsFrame
		if err := conn.ReadJSON(&f); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return &Close{Code: ce.Code, Reason: ce.Text}
			}
			return fmt.Errorf("ws read: %w", err)
		}
		if err := s.handleWS(&f, pending); err != nil {
			return err
		}
	}
}

func (s *Subscriber) handleWS(f *wsFrame, pending map[string]bool) error {
	switch f.Op {
	case "events":
		for _, raw := range f.Events {
			if err := s.deliver(raw); err != nil {
				return err
			}
		}
	case "subscribed":
		// A topic that has had no event yet resumes from the position the
		// relay subscribed it at, so a reconnect cannot skip events.
		if len(f.Topics) == 1 && f.Cursor != "" && s.lastID[f.Topics[0]] == "" {
			s.lastID[f.Topics[0]] = f.Cursor
		}
		delete(pending, f.Ref)
		if len(pending) == 0 {
			s.opts.OnState(Open, nil)
		}
	case "truncated":
		s.opts.OnTruncated(f.Topic)
	case "error":
		if pending[f.Ref] {
			return &ProtocolError{Code: f.Code, Message: f.Message}
		}
	}
	return nil
}
