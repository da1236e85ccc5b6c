package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Message is one event to publish through POST /v1/publish.
type Message struct {
	Topic          string          `json:"topic"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
}

// Published is the relay's answer for one published message. It mirrors
// infra/bus.Receipt field for field; the SDK keeps its own copy because a
// public client must not import the relay's internal packages.
type Published struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Duplicate bool   `json:"duplicate"`
}

// Publisher posts events to a relay with an API key (or a token with
// publish grants).
type Publisher struct {
	BaseURL string
	Key     string
	HTTP    *http.Client // nil: http.DefaultClient
}

// Publish sends msgs as one batch. A non-200 answer is an *HTTPError; 503
// means the bus is unavailable and the call may be retried as is (set
// idempotency keys to make retries exact).
func (p *Publisher) Publish(ctx context.Context, msgs ...Message) ([]Published, error) {
	body, err := json.Marshal(map[string]any{"events": msgs})
	if err != nil {
		return nil, fmt.Errorf("encode publish: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.BaseURL, "/")+"/v1/publish", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("publish request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.Key != "" {
		req.Header.Set("Authorization", "Bearer "+p.Key)
	}
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("publish: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{Status: resp.StatusCode, Body: string(raw)}
	}
	var out struct {
		Events []Published `json:"events"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("publish: decode answer: %w", err)
	}
	return out.Events, nil
}
