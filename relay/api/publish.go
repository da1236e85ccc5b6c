package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
)

// DefaultSource is the event source of API publishes that name none.
const DefaultSource = "api"

// publisher is who publishes: an API key or a token subject.
type publisher struct {
	key    string // rate limit key
	grants *auth.Grants
	apiKey bool // an API key, not a token: may set the event source
}

// publish serves POST /v1/publish.
func (s *server) publish(w http.ResponseWriter, r *http.Request) error {
	p, err := s.publisher(r)
	if err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	msgs, err := s.decodePublish(w, r)
	if err != nil {
		return err
	}
	for i, m := range msgs {
		if !p.grants.CanPublish(m.Topic) {
			at := i
			if len(msgs) == 1 {
				at = -1 // named as a single event's field
			}
			return forbidden("%s: no publish grant for topic %q", bus.FieldPath(at, "topic"), m.Topic)
		}
		if !p.apiKey {
			// A token holder's events say who sent them; only API keys
			// (trusted backends) choose their source.
			msgs[i].Source = p.grants.Source()
		}
	}
	if err := s.tokenRules(p, msgs); err != nil {
		return err
	}
	lim, key := s.scope(p, msgs)
	if lim != nil {
		// One token per event (the rate is in events per second), taken for
		// the whole batch at once: a refused batch spends nothing.
		if ok, wait := lim.AllowN(key, len(msgs)); !ok {
			if wait == 0 {
				return badRequest("batch of %d events is larger than the publish burst (HOOKRELAY_PUBLISH_BURST): split it", len(msgs))
			}
			return RateLimited(wait, "publish rate limit reached (HOOKRELAY_PUBLISH_RATE); retry after the Retry-After seconds")
		}
	}
	start := time.Now()
	pubs, err := s.Bus.Publish(r.Context(), msgs)
	s.m.observePublish(time.Since(start), len(pubs), err)
	if err != nil {
		if bus.Retryable(err) {
			s.m.busErrors.WithLabelValues("publish").Inc()
		}
		return fmt.Errorf("publish %d events: %w", len(msgs), err)
	}
	// Encoded by hand (bus.AppendReceipts), sized for one receipt per
	// event: this is every publish's answer.
	b := make([]byte, 0, 16+80*len(pubs))
	b = append(b, `{"events":`...)
	b = bus.AppendReceipts(b, pubs)
	writeBody(w, http.StatusOK, append(b, "}\n"...))
	return nil
}

// publisher authenticates a publish: an API key first, else a token with
// publish grants.
func (s *server) publisher(r *http.Request) (*publisher, error) {
	if name, ok := s.APIKeys.Check(r); ok {
		if p := s.keyPublishers[name]; p != nil {
			return p, nil
		}
		return keyPublisher(name), nil
	}
	g, err := s.authenticate(r.Context(), r)
	if err != nil {
		return nil, err
	}
	if len(g.Publish) == 0 {
		return nil, forbidden("these credentials carry no publish grant")
	}
	// "token:" + subject is the bucket key, as for WebSocket publishes, so
	// one budget covers both transports.
	return tokenPublisher(g), nil
}

// keyPublisher is the publisher of an API key: every topic, its own
// source. They are built once per key (server.keyPublishers), not per
// publish.
func keyPublisher(name string) *publisher {
	sub := auth.APIKeySubjectPrefix + name
	return &publisher{key: sub, grants: &auth.Grants{Subject: sub, Publish: []string{"*"}}, apiKey: true}
}

// requireJSON answers 415 unless the body is declared JSON.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return nil // what nearly every client sends: no parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return Errorf(CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, "Content-Type %q: want application/json", ct)
}

// readBody reads a body bounded by MaxBodyBytes (413 above it).
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= s.MaxBodyBytes {
		// The length is known and within bounds: one read into a buffer
		// of that size (net/http stops the body at Content-Length).
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, badRequest("read body: %v", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("read body: %v", err)
	}
	return b, nil
}

// decodeStrict decodes one JSON value with no unknown fields and nothing
// after it, and turns decoder errors into a 400 naming the field.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return badRequest("field %s: want a JSON %s", te.Field, te.Type)
		case errors.Is(err, io.EOF):
			return badRequest("empty body: want a JSON object")
		}
		return badRequest("invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return badRequest("invalid JSON body: data after the first value")
	}
	return nil
}

// decodePublish parses and validates a publish body into bus messages
// with the validator every way in shares (bus.Messages).
func (s *server) decodePublish(w http.ResponseWriter, r *http.Request) ([]bus.Message, error) {
	b, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	msgs, _, err := bus.Messages(b, bus.DecodeOptions{Strict: true},
		bus.Policy{Source: DefaultSource, Key: r.Header.Get("Idempotency-Key")})
	if err != nil {
		return nil, requestError(err)
	}
	return msgs, nil
}

// requestError answers a refused publish request: bad_topic for a topic
// rule, else bad_request, naming the field.
func requestError(err error) error {
	if bus.BadTopic(err) {
		return Errorf(CodeBadTopic, http.StatusBadRequest, "%v", err)
	}
	return badRequest("%v", err)
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	writeBody(w, status, append(b, '\n'))
	return nil
}

// writeBody writes an encoded JSON answer.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is out; a failed write means the client went away.
	_, _ = w.Write(b)
}
