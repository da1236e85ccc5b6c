package hostile

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// maxID is the largest id ParseID accepts: a position nothing can follow.
const maxID = "18446744073709551615-18446744073709551615"

// defect skips a case whose answer is known wrong, naming the owner: the
// table does not assert wrong behaviour, and the case becomes a real check
// as soon as the owner fixes it. Every call is listed in the report.
func defect(t *testing.T, owner, format string, args ...any) {
	t.Helper()
	t.Skipf("DEFECT ("+owner+"): "+format, args...)
}

// acceptedOrBadCursor: for a position nothing can follow, the relay may
// answer "nothing after it" (status ok) or refuse it as bad_cursor; a 5xx
// (bus_unavailable invites a retry loop) is a defect.
func acceptedOrBadCursor(t *testing.T, a answer, ok int, what string) {
	t.Helper()
	switch {
	case a.status >= 500:
		defect(t, "infra/bus/redis", "%s: %s (Redis refuses XRANGE '(' of the max id; the error is reported as bus_unavailable)", what, a)
	case a.status == http.StatusBadRequest:
		checkError(t, a, http.StatusBadRequest, "bad_cursor")
	case a.status != ok:
		t.Fatalf("%s: got %s, want %d or 400 bad_cursor", what, a, ok)
	}
}

func cursorCases() []badCase {
	return []badCase{
		{name: "history/after-max-id", run: func(t *testing.T, e *env) {
			a := do(t, e.client, newReq(t, e, http.MethodGet, "/v1/topics/order:1/events?after="+maxID, nil,
				"Authorization", "Bearer "+e.token(t, "alice", []string{"order:*"}, nil)))
			acceptedOrBadCursor(t, a, http.StatusOK, "history after the max id")
		}},
		{name: "read/max-id-poisons-unread", run: func(t *testing.T, e *env) {
			// Read cursors only move forward: an accepted max id stays.
			auth := "Bearer " + e.token(t, "maxreader", []string{"user:{sub}"}, nil)
			a := do(t, e.client, newReq(t, e, http.MethodPut, "/v1/topics/user:maxreader/read", []byte(`{"id":"`+maxID+`"}`),
				"Content-Type", "application/json", "Authorization", auth))
			acceptedOrBadCursor(t, a, http.StatusNoContent, "PUT read of the max id")
			a = do(t, e.client, newReq(t, e, http.MethodGet, "/v1/topics/user:maxreader/unread", nil, "Authorization", auth))
			acceptedOrBadCursor(t, a, http.StatusOK, "unread after a read of the max id (every later GET unread)")
		}},
		{name: "sse/cursor-max-id", run: func(t *testing.T, e *env) {
			h := http.Header{"Authorization": {"Bearer " + e.token(t, "alice", []string{"order:*"}, nil)}}
			s, a, err := tryOpenSSE(t, caseIP, e.addr, "/v1/sse?topic=order:1&cursor="+maxID, h)
			if err != nil {
				defect(t, "infra/bus/redis, relay/sse", "%v (no close event: EventSource reconnects with the same cursor forever)", err)
			}
			if s != nil {
				s.Close()
				return
			}
			acceptedOrBadCursor(t, a, http.StatusOK, "SSE cursor at the max id")
		}},
		wsCase("ws/subscribe-cursor-max-id", func(t *testing.T, _ *env, conn *websocket.Conn) {
			sendWS(t, conn, map[string]any{"op": "subscribe", "ref": "m1", "topics": []string{"order:1"}, "cursor": maxID})
			f, err := readWS(conn)
			switch {
			case err != nil:
				t.Fatalf("subscribe at the max id: %v", err)
			case f.Op == "error" && f.Code == "bus_unavailable":
				defect(t, "infra/bus/redis", "WS subscribe with cursor %s: error bus_unavailable (clients retry forever)", maxID)
			case f.Op == "error":
				if f.Code != "bad_cursor" || f.Ref != "m1" {
					t.Fatalf("got %+v, want subscribed or error bad_cursor", f)
				}
			case f.Op != "subscribed" || f.Ref != "m1":
				t.Fatalf("got %+v, want subscribed or error bad_cursor", f)
			}
			wsAlive(t, conn, "order:alive")
		}),
	}
}
