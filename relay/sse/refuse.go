package sse

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/relay/api"
	"github.com/hookrelay/hookrelay/relay/hub"
)

// Refuse answers a stream the relay cannot take now (draining, at
// capacity, the address over its cap, the bus down) with a complete event
// stream: 200, a retry: hint and a close event naming the reason, then
// the end of the body. EventSource treats any non-200 as final and stops
// for good; a stream that ends is reconnected after retry with the last
// Last-Event-ID, so the client resumes where it was (docs/protocol.md).
func (s *handler) Refuse(w http.ResponseWriter, r *http.Request, rf *api.Refusal) {
	s.m.rejects.WithLabelValues(rf.Reason).Inc()
	if s.o.CORS != nil && !s.o.CORS(w, r) {
		s.fail(w, r, apierr.Forbidden("origin not allowed"))
		return
	}
	body := appendRefusal(nil, rf)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// The client's next attempt should go through the load balancer
	// again, not back to this node on a kept-alive socket.
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		s.log.Debug("sse refusal", "reason", rf.Reason, "err", err)
	}
}

// appendRefusal appends the one block of a refusal:
//
//	retry: 1534
//	event: close
//	data: {"code":1012,"reason":"restart","retry":1534}
//
// retry: shares the close event's block, so no client sees a block of its
// own for it (fetch-event-source hands every block to the application).
func appendRefusal(b []byte, rf *api.Refusal) []byte {
	ms := rf.RetryMillis()
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, "\nevent: close\ndata: {\"code\":"...)
	b = strconv.AppendInt(b, int64(rf.Code), 10)
	b = append(b, ",\"reason\":\""...)
	b = append(b, rf.Reason...) // a Refuse* constant: no JSON escaping needed
	b = append(b, "\",\"retry\":"...)
	b = strconv.AppendInt(b, ms, 10)
	return append(b, "}\n\n"...)
}

// refusalOf maps a failed Admit to the refusal to send.
func refusalOf(err error) *api.Refusal {
	if errors.Is(err, hub.ErrOverCapacity) {
		return api.NewRefusal(api.RefuseOverCapacity)
	}
	return api.NewRefusal(api.RefuseRestart) // hub.ErrDraining
}
