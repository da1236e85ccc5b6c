package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// MaxEventsPerDelivery bounds what one delivery may publish (an
// Alertmanager group with thousands of alerts would otherwise become one
// huge publish); configure the sender to split (Alertmanager max_alerts).
const MaxEventsPerDelivery = 1000

// Answers other than success, from the one catalogue (infra/apierr).
var (
	errMethod       = apierr.MethodNotAllowed(http.MethodPost)
	errUnknown      = apierr.NotFound("unknown webhook source")
	errTooLarge     = apierr.Errorf(apierr.CodeTooLarge, http.StatusRequestEntityTooLarge, "body too large")
	errUnauthorized = apierr.Errorf(apierr.CodeUnauthorized, http.StatusUnauthorized, "invalid signature")
	errMalformed    = apierr.BadRequest("body is not valid JSON")
	errMediaType    = apierr.Errorf(apierr.CodeUnsupportedMediaType, http.StatusUnsupportedMediaType, "send application/json")
	errUnmappable   = apierr.BadRequest("delivery does not fit the source's rules")
	errBus          = apierr.BusUnavailable("event bus unavailable, retry later", nil)
	errInternal     = apierr.Internal(nil)
)

// ServeHTTP handles POST /hooks/{source}. The source is r.PathValue
// ("source") when a mux pattern set it, else the path segment after
// /hooks/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serveVia(w, r, h.via)
}

// serveVia is ServeHTTP with the ingest path named for the delivery log
// (the console's test deliveries say "test").
func (h *Handler) serveVia(w http.ResponseWriter, r *http.Request, via string) {
	start := time.Now()
	name := r.PathValue("source")
	if name == "" {
		name = sourceFromPath(r.URL.Path)
	}
	src := h.sources[name]
	label := "unknown" // unknown names stay out of metric labels
	if src != nil {
		label = src.name
	}
	o := h.observe(r, name, src, via)
	status := h.serve(w, r, src, o)
	h.metrics.Observe(label, status, time.Since(start))
	if o != nil {
		h.finish(o, status, time.Since(start))
	}
}

func sourceFromPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/hooks/")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, "/")
}

// serve answers the request and returns the status it wrote.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, src *source, o *observation) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, errMethod)
	}
	if src == nil {
		return writeError(w, errUnknown)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, src.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, errTooLarge)
		}
		o.reason(deliverylog.ReasonBodyUnreadable, "the body could not be read: "+err.Error())
		return writeError(w, apierr.BadRequest("could not read body"))
	}
	o.body(raw)
	if !src.prov.verify(r.Header, raw, h.now()) {
		h.log.Warn("webhook rejected: invalid signature", "source", src.name)
		if o != nil {
			o.refused(explainRefusal(src.prov, r.Header, h.now()), src.prov)
		}
		if src.basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="hookrelay"`)
		}
		return writeError(w, errUnauthorized)
	}
	o.verified()
	return h.deliver(w, r, src, raw, o, "", false)
}

// deliver decodes, maps and publishes a verified delivery (also the
// console's replay, which passes the delivery id to use; fresh marks an id
// the operator asked to be new, which then keys the events too, so they
// publish again even where dedup is on the signed body).
func (h *Handler) deliver(w http.ResponseWriter, r *http.Request, src *source, raw []byte, o *observation, id string, fresh bool) int {
	d, aerr := decodeDelivery(src, r, raw)
	if aerr != nil {
		return writeError(w, aerr)
	}
	if id != "" {
		d.ID = id
		if fresh {
			d.key = id
		}
	}
	o.delivery(d)
	msgs, matched, err := src.mapDelivery(d)
	if err != nil {
		h.log.Error("webhook mapping failed", "source", src.name, "type", d.Type, "delivery", d.ID, "err", err)
		o.reason(deliverylog.ReasonUnmappable, err.Error())
		return writeError(w, errUnmappable)
	}
	if len(msgs) == 0 {
		h.log.Debug("webhook ignored", "source", src.name, "type", d.Type, "delivery", d.ID, "matched", matched)
		return writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored"})
	}
	pubs, err := h.bus.Publish(r.Context(), msgs)
	if err != nil {
		o.publishFailed(err)
		return h.publishError(w, src, d, err)
	}
	o.published(pubs)
	out := bus.Receipts(pubs)
	h.log.Debug("webhook published", "source", src.name, "type", d.Type, "delivery", d.ID, "events", len(out))
	return writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (h *Handler) publishError(w http.ResponseWriter, src *source, d *delivery, err error) int {
	switch {
	case bus.Retryable(err):
		h.log.Warn("webhook publish failed, sender will retry", "source", src.name, "delivery", d.ID, "err", err)
		return writeError(w, errBus)
	case errors.Is(err, bus.ErrInvalid):
		h.log.Error("webhook event rejected by the bus", "source", src.name, "delivery", d.ID, "err", err)
		return writeError(w, apierr.BadRequest("event rejected: %v", err))
	}
	h.log.Error("webhook publish failed", "source", src.name, "delivery", d.ID, "err", err)
	return writeError(w, errInternal)
}

// decodeDelivery parses the verified body. GitHub may send its JSON as the
// form field "payload" (content type application/x-www-form-urlencoded);
// the signature was checked on the raw form body above.
// A missing Content-Type is read as JSON (some senders omit it).
func decodeDelivery(src *source, r *http.Request, raw []byte) (*delivery, *apierr.Error) {
	doc := raw
	if h := r.Header.Get("Content-Type"); h != "" {
		ct, _, err := mime.ParseMediaType(h)
		switch {
		case err != nil:
			return nil, errMediaType
		case ct == "application/x-www-form-urlencoded":
			form, err := url.ParseQuery(string(raw))
			if err != nil || !form.Has("payload") {
				return nil, errMalformed
			}
			doc = []byte(form.Get("payload"))
		case ct != "application/json" && ct != "text/json" && !strings.HasSuffix(ct, "+json"):
			return nil, errMediaType
		}
	}
	if !utf8.Valid(doc) {
		// JSON is UTF-8 (RFC 8259); passing other bytes on would reach
		// every subscriber's JSON parser.
		return nil, errMalformed
	}
	body, err := decodeJSON(doc)
	if err != nil {
		return nil, errMalformed
	}
	headers := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		if len(v) > 0 && k != "Authorization" {
			headers[k] = v[0]
		}
	}
	d := &delivery{Source: src.name, Headers: headers, Body: body, Raw: doc}
	d.Type, d.ID = src.prov.identify(r.Header, body)
	sum := sha256.Sum256(raw)
	bodyID := hex.EncodeToString(sum[:])
	if d.ID == "" || len(d.ID) > 200 {
		// No (usable) delivery id from the sender: the same body is the
		// same delivery.
		d.ID = bodyID
	}
	d.key = d.ID
	if !src.prov.signsID() {
		// The sender's id is an unsigned header: a captured delivery sent
		// again under a fresh id (or event type) must still be the same
		// delivery, so the key is what the signature covers (M1 of the
		// 2026-12 review). The header id stays in logs.
		d.key = bodyID
	}
	return d, nil
}

// decodeJSON decodes exactly one JSON value, numbers kept as json.Number so
// 64-bit ids (Shopify's) render with every digit.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// mapDelivery applies the first matching rule. Each event's idempotency key
// is source:key:index (key: the signed delivery id, else the body's
// SHA-256), so a redelivery maps to the same keys and the bus returns the
// original events.
func (s *source) mapDelivery(d *delivery) ([]bus.Message, bool, error) {
	for _, r := range s.rules {
		if !r.matches(d) {
			continue
		}
		var msgs []bus.Message
		for _, m := range r.mappers {
			out, err := m.render(d)
			if err != nil {
				return nil, true, fmt.Errorf("%w: %w", errMapping, err)
			}
			msgs = appendNew(msgs, out)
			if len(msgs) > MaxEventsPerDelivery {
				return nil, true, fmt.Errorf("%w: %s: more than %d events", errMapping, r.where, MaxEventsPerDelivery)
			}
		}
		for i := range msgs {
			msgs[i].IdempotencyKey = s.name + ":" + d.key + ":" + strconv.Itoa(i)
		}
		return msgs, true, nil
	}
	return nil, false, nil
}

// writeError renders a catalogue entry and returns its status.
func writeError(w http.ResponseWriter, e *apierr.Error) int {
	apierr.Write(w, e)
	return e.Status
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is already sent; a failed write means the sender went
	// away and will retry, nothing else to do.
	_ = json.NewEncoder(w).Encode(v)
	return status
}

// appendNew appends the messages not already in msgs: two mappers giving
// the same event (an alert label whose value is the receiver's name) publish
// it once.
func appendNew(msgs, add []bus.Message) []bus.Message {
next:
	for _, a := range add {
		for _, m := range msgs {
			if m.Topic == a.Topic && m.Type == a.Type && bytes.Equal(m.Data, a.Data) {
				continue next
			}
		}
		msgs = append(msgs, a)
	}
	return msgs
}
