package sse

import (
	"net/http"

	"github.com/hookrelay/hookrelay/infra/apierr"
)

// fail answers a request refused before the stream started with the
// catalogue's JSON (infra/apierr, the same rendering as every other route)
// and counts it; an internal error's cause is logged, never sent.
func (s *handler) fail(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	if e.Code == apierr.CodeInternal {
		s.log.Error("sse request failed", "err", e.Cause)
	}
	s.m.rejects.WithLabelValues(e.Code).Inc()
	apierr.Write(w, e)
}
