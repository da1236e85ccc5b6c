package hostile

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// maxID is the largest id ParseID accepts: a position in the far future,
// which no bus issued. Before the fixes it made the Redis bus answer
// bus_unavailable (Redis refuses XRANGE "(" of it), so clients retried
// forever, an SSE stream ended right after its 200, and a PUT read of it
// pinned the reader's unread count at 0.
const maxID = "18446744073709551615-18446744073709551615"

func cursorCases() []badCase {
	alice := func(t *testing.T, e *env) string { return "Bearer " + e.token(t, "alice", []string{"order:*"}, nil) }
	return []badCase{
		{name: "history/after-future-id", status: 400, code: "bad_cursor",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/v1/topics/order:1/events?after="+maxID, nil, "Authorization", alice(t, e))
			}},
		{name: "read/future-id", run: func(t *testing.T, e *env) {
			auth := "Bearer " + e.token(t, "maxreader", []string{"user:{sub}"}, nil)
			a := do(t, e.client, newReq(t, e, http.MethodPut, "/v1/topics/user:maxreader/read", []byte(`{"id":"`+maxID+`"}`),
				"Content-Type", "application/json", "Authorization", auth))
			checkError(t, a, http.StatusBadRequest, "bad_cursor")
			a = do(t, e.client, newReq(t, e, http.MethodGet, "/v1/topics/user:maxreader/unread", nil, "Authorization", auth))
			if a.status != http.StatusOK {
				t.Fatalf("unread after the refused read: %s", a)
			}
		}},
		{name: "sse/cursor-future-id", run: func(t *testing.T, e *env) {
			sseRefused(t, e, caseIP, "/v1/sse?topic=order:1&cursor="+maxID, http.Header{"Authorization": {alice(t, e)}}, 400, "bad_cursor")
		}},
		wsError("ws/subscribe-cursor-future-id", []byte(`{"op":"subscribe","ref":"m1","topics":["order:1"],"cursor":"`+maxID+`"}`),
			websocket.TextMessage, "m1", "bad_cursor"),
	}
}
