package apierr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDocsListEveryCode: docs/protocol.md's error table lists every code
// of the catalogue with its status, and nothing else.
func TestDocsListEveryCode(t *testing.T) {
	b, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]{3}) \\|").FindAllSubmatch(b, -1)
	documented := map[string]int{}
	for _, r := range rows {
		status, _ := strconv.Atoi(string(r[2]))
		documented[string(r[1])] = status
	}
	for _, e := range Catalogue() {
		if got, ok := documented[e.Code]; !ok || got != e.Status {
			t.Errorf("docs/protocol.md: %q documented with status %d (listed %v), catalogue says %d", e.Code, got, ok, e.Status)
		}
		delete(documented, e.Code)
	}
	for code := range documented {
		t.Errorf("docs/protocol.md lists %q, which the catalogue does not have", code)
	}
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"`503 bus_unavailable` with `Retry-After: " + strconv.Itoa(int(BusRetryAfter.Seconds())) + "`",
		"`503 over_capacity` with `Retry-After: " + strconv.Itoa(int(CapacityRetryAfter.Seconds())) + "`",
	} {
		if !strings.Contains(string(ops), want) {
			t.Errorf("docs/operations.md does not say %s", want)
		}
	}
}

// TestConstructorsMatchCatalogue: every constructor answers with the
// status its code has in the catalogue.
func TestConstructorsMatchCatalogue(t *testing.T) {
	status := map[string]int{}
	for _, e := range Catalogue() {
		status[e.Code] = e.Status
	}
	for _, e := range []*Error{BadRequest("x"), Forbidden("x"), NotFound("x"), MethodNotAllowed("POST"), TooLarge(1),
		RateLimited(0, "x"), OverCapacity(), BusUnavailable("x", nil), Internal(nil)} {
		if status[e.Code] != e.Status {
			t.Errorf("%s answered %d, catalogue says %d", e.Code, e.Status, status[e.Code])
		}
	}
}

func TestWrite(t *testing.T) {
	for _, c := range []struct {
		e          *Error
		retryAfter string
		challenge  string
	}{
		{BusUnavailable("down", nil), "2", ""},
		{RateLimited(1500*time.Millisecond, "slow down"), "2", ""},
		{Errorf(CodeUnauthorized, http.StatusUnauthorized, "who?"), "", `Bearer realm="hookrelay"`},
	} {
		w := httptest.NewRecorder()
		Write(w, c.e)
		var body Body
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v: %s", c.e.Code, err, w.Body)
		}
		if w.Code != c.e.Status || body.Error.Code != c.e.Code || body.Error.Status != c.e.Status || body.Error.Message != c.e.Message {
			t.Errorf("%s: answered %d %s", c.e.Code, w.Code, w.Body)
		}
		h := w.Header()
		if h.Get("Retry-After") != c.retryAfter || h.Get("WWW-Authenticate") != c.challenge || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", c.e.Code, h)
		}
	}
	// A caller's own challenge (basic auth) is kept.
	w := httptest.NewRecorder()
	w.Header().Set("WWW-Authenticate", `Basic realm="hookrelay"`)
	Write(w, Errorf(CodeUnauthorized, http.StatusUnauthorized, "who?"))
	if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="hookrelay"` {
		t.Errorf("challenge replaced: %q", got)
	}
}
