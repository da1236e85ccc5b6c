package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

// Observer is told about every delivery the Handler answered, after the
// answer was written: the delivery log's Writer. Observe must not block
// (it runs on the request's goroutine); the Writer queues and returns.
type Observer interface {
	Observe(e deliverylog.Entry)
}

// observation collects what serve learns about one delivery. A nil
// *observation (no Observer configured) makes every method a no-op, so
// the answer path does no extra work without a delivery log.
type observation struct {
	e   deliverylog.Entry
	req *http.Request
	raw []byte
}

func (h *Handler) observe(r *http.Request, requested string, src *source, via string) *observation {
	if h.observer == nil {
		return nil
	}
	o := &observation{req: r, e: deliverylog.Entry{Time: time.Now(), Source: requested, Via: via,
		Verification: deliverylog.VerificationNotReached}}
	if src == nil {
		o.e.Source, o.e.Requested = deliverylog.UnknownSourceLog, truncate(requested, 64)
	} else {
		o.e.Provider = providerName(src.prov)
	}
	return o
}

// body records the raw body (kept in the log only if bodies are enabled).
func (o *observation) body(raw []byte) {
	if o != nil {
		o.raw = raw
	}
}

// refused records a failed verification. The delivery id and type the
// (unverified) headers claim are logged too, so an operator can find the
// delivery by the id the sender's dashboard shows.
func (o *observation) refused(rf refusal, p provider) {
	if o != nil {
		o.e.Verification = deliverylog.VerificationRefused
		o.e.Reason, o.e.Detail, o.e.Header = rf.reason, rf.detail, rf.header
		typ, id := p.identify(o.req.Header, nil)
		o.e.Type, o.e.DeliveryID = truncate(typ, 200), truncate(id, 200)
	}
}

func (o *observation) verified() {
	if o != nil {
		o.e.Verification = deliverylog.VerificationOK
	}
}

func (o *observation) delivery(d *delivery) {
	if o != nil {
		o.e.DeliveryID, o.e.Type = d.ID, d.Type
	}
}

func (o *observation) reason(reason, detail string) {
	if o != nil {
		o.e.Reason, o.e.Detail = reason, truncate(detail, 500)
	}
}

func (o *observation) published(pubs []bus.Published) {
	if o == nil {
		return
	}
	o.e.Events = make([]deliverylog.Event, len(pubs))
	dup := len(pubs) > 0
	for i, p := range pubs {
		o.e.Events[i] = deliverylog.Event{ID: p.Event.ID, Topic: p.Event.Topic, Type: p.Event.Type, Duplicate: p.Duplicate}
		dup = dup && p.Duplicate
	}
	o.e.Duplicate = dup
}

// publishFailed records why a publish failed.
func (o *observation) publishFailed(err error) {
	if o == nil {
		return
	}
	switch {
	case errors.Is(err, bus.ErrInvalid):
		o.reason(deliverylog.ReasonBusRejected, "the bus refused an event: "+err.Error())
	case bus.Retryable(err):
		o.reason(deliverylog.ReasonBusUnavailable, "the event bus (Redis) was unavailable; the sender was told to retry")
	default:
		o.reason(deliverylog.ReasonInternal, "publish failed: "+err.Error())
	}
}

// finish completes the entry with the answer and hands it to the observer.
func (h *Handler) finish(o *observation, status int, latency time.Duration) {
	e := &o.e
	e.Status, e.LatencyMicros = status, latency.Microseconds()
	switch {
	case status == http.StatusOK && e.Duplicate:
		e.Outcome = deliverylog.Duplicate
	case status == http.StatusOK:
		e.Outcome = deliverylog.Published
	case status == http.StatusAccepted:
		e.Outcome = deliverylog.Ignored
		e.Reason, e.Detail = deliverylog.ReasonNoRuleMatched, "verified, but no rule of the source maps this delivery (type "+strconv.Quote(e.Type)+")"
	case status >= 500:
		e.Outcome = deliverylog.Failed
	default:
		e.Outcome = deliverylog.Refused
	}
	if e.Reason == "" {
		e.Reason, e.Detail = statusReason(status, e.Requested)
	}
	e.WithRequest(o.req.Header, o.raw)
	h.observer.Observe(*e)
}

// statusReason explains answers whose cause the status alone tells.
func statusReason(status int, requested string) (string, string) {
	switch status {
	case http.StatusNotFound:
		return deliverylog.ReasonUnknownSource, "no webhook source named " + strconv.Quote(requested) + " is configured (check the URL the sender posts to)"
	case http.StatusMethodNotAllowed:
		return deliverylog.ReasonMethod, "webhooks must be POSTed"
	case http.StatusRequestEntityTooLarge:
		return deliverylog.ReasonBodyTooLarge, "the body is larger than the source's max_body_bytes"
	case http.StatusUnsupportedMediaType:
		return deliverylog.ReasonMediaType, "Content-Type is not JSON (application/json, +json) or a GitHub form payload"
	case http.StatusBadRequest:
		return deliverylog.ReasonMalformedBody, "the body is not one valid UTF-8 JSON value (or a form without payload)"
	case http.StatusServiceUnavailable:
		return deliverylog.ReasonBusUnavailable, "the event bus was unavailable; the sender was told to retry"
	case http.StatusInternalServerError:
		return deliverylog.ReasonInternal, "internal error (see the relay's log)"
	}
	return "", ""
}

func providerName(p provider) string {
	switch p := p.(type) {
	case *stripe:
		return "stripe"
	case *github:
		return "github"
	case *shopify:
		return "shopify"
	case *standard:
		return "standard"
	case *hmacProvider:
		return "hmac"
	case *token:
		if p.basic {
			return "basic"
		}
		return "bearer"
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
