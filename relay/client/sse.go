package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxSSELine bounds one SSE line: an event is at most 64 KiB of JSON by default.
const maxSSELine = 1 << 20

// runSSE holds one SSE connection until it ends. The cursor advances with
// every frame that carries an id, exactly as a browser's EventSource does.
func (s *Subscriber) runSSE(ctx context.Context, token string) error {
	q := url.Values{"topic": s.opts.Topics}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.BaseURL+"/v1/sse?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("sse request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if s.cursor != "" {
		req.Header.Set("Last-Event-ID", s.cursor)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("sse connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)) // best effort: the status is the error
		return &HTTPError{Status: resp.StatusCode, Body: string(body)}
	}
	return s.readSSE(resp.Body)
}

// HTTPError is a non-200 answer to a subscribe request.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("relay answered %d: %s", e.Status, e.Body) }

// readSSE parses text/event-stream per the WHATWG rules hookrelay uses:
// fields id, event, data, retry; comments ignored; a blank line dispatches.
// Like EventSource, an id line only fills the last-event-id buffer; the
// cursor takes it when the frame is dispatched, so a connection cut between
// an event's id line and its blank line cannot skip that event on resume.
func (s *Subscriber) readSSE(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSSELine)
	var name string
	var data []byte
	idBuf := s.cursor
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			s.cursor = idBuf
			if err := s.dispatchSSE(name, data); err != nil {
				return err
			}
			name, data = "", nil
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			idBuf = string(value)
		case "event":
			name = string(value)
		case "data":
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, value...)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sse read: %w", err)
	}
	return io.ErrUnexpectedEOF
}

func (s *Subscriber) dispatchSSE(name string, data []byte) error {
	switch name {
	case "", "message":
		if data == nil {
			return nil
		}
		return s.deliver(data)
	case "ready":
		s.opts.OnState(Open, nil)
	case "truncated":
		var t struct{ Topic string }
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("decode truncated: %w", err)
		}
		s.opts.OnTruncated(t.Topic)
	case "close":
		c := &Close{}
		if err := json.Unmarshal(data, c); err != nil {
			return fmt.Errorf("decode close: %w", err)
		}
		return c
	}
	return nil
}
