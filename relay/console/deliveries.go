package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/deliverylog"
)

func (c *console) sources(w http.ResponseWriter, _ *http.Request) error {
	type source struct {
		Name     string `json:"name"`
		Provider string `json:"provider"`
	}
	out := []source{}
	if c.o.Hooks != nil {
		for _, n := range c.o.Hooks.Sources() {
			out = append(out, source{n, c.o.Hooks.Provider(n)})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sources": out})
}

// deliveries lists log entries: ?source=a&source=b&status=refused|4xx|401
// &delivery_id=…&limit=n. Bodies are left out of the list (the detail call
// has them).
func (c *console) deliveries(w http.ResponseWriter, r *http.Request) error {
	if c.o.Log == nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "the delivery log is off (HOOKRELAY_DELIVERY_LOG=false)")
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		return refuse(apierr.CodeBadRequest, http.StatusBadRequest, err.Error())
	}
	es, err := c.o.Log.List(r.Context(), q)
	if err != nil {
		return refuse(apierr.CodeBusUnavailable, http.StatusServiceUnavailable, err.Error())
	}
	for i := range es {
		es[i].Headers, es[i].Body = nil, nil
	}
	if es == nil {
		es = []deliverylog.Entry{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deliveries": es})
}

// parseQuery reads the list filters, refusing values that could not match
// anything the log holds.
func parseQuery(v map[string][]string) (deliverylog.Query, error) {
	q := deliverylog.Query{}
	for _, s := range v["source"] {
		if s == "" {
			continue
		}
		if len(s) > 64 || strings.ContainsAny(s, "{}:") {
			return q, errors.New("source: not a source name")
		}
		q.Sources = append(q.Sources, s)
	}
	if len(q.Sources) > 50 {
		return q, errors.New("source: at most 50")
	}
	q.Status = first(v["status"])
	if len(q.Status) > 20 {
		return q, errors.New("status: want an outcome (refused), a class (4xx) or a code (401)")
	}
	q.DeliveryID = first(v["delivery_id"])
	if len(q.DeliveryID) > 256 {
		return q, errors.New("delivery_id: too long")
	}
	if l := first(v["limit"]); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > deliverylog.MaxQueryLimit {
			return q, errors.New("limit: want 1-" + strconv.Itoa(deliverylog.MaxQueryLimit))
		}
		q.Limit = n
	}
	return q, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (c *console) entry(r *http.Request) (deliverylog.Entry, error) {
	if c.o.Log == nil {
		return deliverylog.Entry{}, refuse(apierr.CodeNotFound, http.StatusNotFound, "the delivery log is off")
	}
	e, err := c.o.Log.Get(r.Context(), r.PathValue("source"), r.PathValue("id"))
	if errors.Is(err, deliverylog.ErrNotFound) {
		return e, refuse(apierr.CodeNotFound, http.StatusNotFound, err.Error())
	}
	if err != nil {
		return e, refuse(apierr.CodeBusUnavailable, http.StatusServiceUnavailable, err.Error())
	}
	return e, nil
}

func (c *console) delivery(w http.ResponseWriter, r *http.Request) error {
	e, err := c.entry(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// replay runs a logged delivery's mapping and publish again: with its
// original delivery id (the bus answers duplicate) unless the body says
// {"new_id": true}.
func (c *console) replay(w http.ResponseWriter, r *http.Request) error {
	if c.o.Hooks == nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "this relay serves no webhooks")
	}
	var in struct {
		NewID bool `json:"new_id"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	e, err := c.entry(r)
	if err != nil {
		return err
	}
	ans, err := c.o.Hooks.Replay(r.Context(), e, in.NewID)
	if err != nil {
		return refuse(apierr.CodeBadRequest, http.StatusBadRequest, err.Error())
	}
	c.o.Logger.Info("console: replay", "source", e.Source, "delivery", e.DeliveryID, "new_id", in.NewID, "status", ans.Status)
	return writeJSON(w, http.StatusOK, ans)
}

// sendTest signs {"type": …, "body": {…}} with the source's secret and
// delivers it.
func (c *console) sendTest(w http.ResponseWriter, r *http.Request) error {
	if c.o.Hooks == nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, "this relay serves no webhooks")
	}
	var in struct {
		Type string          `json:"type"`
		Body json.RawMessage `json:"body"`
	}
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if len(in.Body) == 0 {
		return refuse(apierr.CodeBadRequest, http.StatusBadRequest, "body: a JSON value to send is required")
	}
	if len(in.Type) > 200 {
		return refuse(apierr.CodeBadRequest, http.StatusBadRequest, "type: at most 200 bytes")
	}
	ans, err := c.o.Hooks.SendTest(r.Context(), r.PathValue("source"), in.Type, in.Body)
	if err != nil {
		return refuse(apierr.CodeNotFound, http.StatusNotFound, err.Error())
	}
	c.o.Logger.Info("console: test delivery", "source", r.PathValue("source"), "delivery", ans.DeliveryID, "status", ans.Status)
	return writeJSON(w, http.StatusOK, ans)
}

// decodeBody reads an optional JSON object (an empty body is {}).
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooBig):
		return refuse(apierr.CodeTooLarge, http.StatusRequestEntityTooLarge, "request body over 1 MiB")
	}
	return refuse(apierr.CodeBadRequest, http.StatusBadRequest, "body is not the expected JSON object: "+err.Error())
}
