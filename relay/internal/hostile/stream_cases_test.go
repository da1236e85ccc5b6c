package hostile

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// sseRefused asserts GET path is refused before the stream starts with the
// exact status and code.
func sseRefused(t *testing.T, e *env, ip, path string, h http.Header, status int, code string) answer {
	t.Helper()
	s, a := openSSE(t, ip, e.addr, path, h)
	if s != nil {
		s.Close()
		t.Fatalf("GET %.200s: stream opened, want %d %s", path, status, code)
	}
	checkError(t, a, status, code)
	return a
}

// sseCase is an SSE request by alice (grants order:*, user:alice).
func sseCase(name, query string, h http.Header, status int, code string) badCase {
	return badCase{name: name, run: func(t *testing.T, e *env) {
		hh := http.Header{"Authorization": {"Bearer " + e.token(t, "alice", []string{"order:*", "user:{sub}"}, nil)}}
		for k, v := range h {
			hh[k] = v
		}
		sseRefused(t, e, caseIP, "/v1/sse?"+query, hh, status, code)
	}}
}

func topicsQuery(n int) string {
	q := make([]string, n)
	for i := range q {
		q[i] = fmt.Sprintf("topic=order:%d", i)
	}
	return strings.Join(q, "&")
}

func sseCases() []badCase {
	hugeCursor := "v1." + strings.Repeat("QUFB", 20<<10/4)
	return []badCase{
		sseCase("sse/no-topic", "", nil, 400, "bad_topic"),
		sseCase("sse/too-many-topics", topicsQuery(maxTopics+1), nil, 400, "bad_topic"),
		sseCase("sse/huge-topic-list", topicsQuery(2000), nil, 400, "bad_topic"),
		sseCase("sse/topic-crlf", "topic=order:1%0d%0aX-Injected:%201", nil, 400, "bad_topic"),
		sseCase("sse/topic-double-encoded-crlf", "topic=order:1%250d%250a", nil, 400, "bad_topic"),
		sseCase("sse/topic-invalid-utf8", "topic=order:%ff%fe", nil, 400, "bad_topic"),
		sseCase("sse/topic-nul", "topic=order:1%00", nil, 400, "bad_topic"),
		sseCase("sse/cursor-garbage", "topic=order:1&cursor=garbage", nil, 400, "bad_cursor"),
		sseCase("sse/cursor-tampered-v1", "topic=order:1&topic=order:2&cursor=v1.%21%21%21", nil, 400, "bad_cursor"),
		sseCase("sse/cursor-bare-id-two-topics", "topic=order:1&topic=order:2&cursor=1-0", nil, 400, "bad_cursor"),
		sseCase("sse/cursor-huge", "topic=order:1&topic=order:2&cursor="+url.QueryEscape(hugeCursor), nil, 400, "bad_cursor"),
		sseCase("sse/last-event-id-garbage", "topic=order:1", http.Header{"Last-Event-ID": {"garbage%0d%0a!"}}, 400, "bad_cursor"),
		sseCase("sse/last-event-id-overflow", "topic=order:1", http.Header{"Last-Event-ID": {"99999999999999999999999-0"}}, 400, "bad_cursor"),
		sseCase("sse/no-token", "topic=order:1", http.Header{"Authorization": {""}}, 401, "unauthorized"),
		sseCase("sse/forbidden-topic", "topic=alerts:ops", nil, 403, "forbidden"),
		sseCase("sse/disallowed-origin", "topic=order:1", http.Header{"Origin": {"https://evil.example"}}, 403, "forbidden"),
		sseCase("sse/origin-null", "topic=order:1", http.Header{"Origin": {"null"}}, 403, "forbidden"),
		sseCase("sse/origin-lookalike-host", "topic=order:1", http.Header{"Origin": {"http://127.0.0.1.evil.example"}}, 403, "forbidden"),
	}
}

// wsCase runs f on a connection of alice (subscribe order:*, user:alice;
// publish room:alice).
func wsCase(name string, f func(t *testing.T, e *env, conn *websocket.Conn)) badCase {
	return wsCaseAs(name, "alice", f)
}

// wsCaseAs is wsCase for subject sub (its own publish rate bucket).
func wsCaseAs(name, sub string, f func(t *testing.T, e *env, conn *websocket.Conn)) badCase {
	return badCase{name: name, run: func(t *testing.T, e *env) {
		tok := e.token(t, sub, []string{"order:*", "user:{sub}"}, []string{"room:" + sub})
		conn, a := dialWS(t, caseIP, e.url, http.Header{"Authorization": {"Bearer " + tok}})
		if conn == nil {
			t.Fatalf("handshake refused: %s", a)
		}
		defer conn.Close()
		f(t, e, conn)
	}}
}

// wsError sends frame and expects an error frame with code, connection kept.
func wsError(name string, frame []byte, typ int, ref, code string) badCase {
	return wsCase(name, func(t *testing.T, _ *env, conn *websocket.Conn) {
		sendWSRaw(t, conn, typ, frame)
		expectWSError(t, conn, ref, code)
		wsAlive(t, conn, "order:alive")
	})
}

func wsCases() []badCase {
	text := websocket.TextMessage
	return []badCase{
		// A handshake without any credential is upgraded so a browser can
		// send its token in the first frame (I6), but holds no grants.
		{name: "ws/handshake-no-token-holds-no-grants", run: func(t *testing.T, e *env) {
			conn, a := dialWS(t, caseIP, e.url, nil)
			if conn == nil {
				t.Fatalf("handshake without credentials: %s", a)
			}
			defer conn.Close()
			sendWSRaw(t, conn, text, []byte(`{"op":"subscribe","ref":"n1","topics":["order:1"]}`))
			expectWSError(t, conn, "n1", "forbidden")
			sendWSRaw(t, conn, text, []byte(`{"op":"publish","ref":"n2","topic":"room:alice","type":"x","data":{}}`))
			expectWSError(t, conn, "n2", "forbidden")
		}},
		{name: "ws/handshake-bad-token", run: func(t *testing.T, e *env) {
			_, a := dialWS(t, caseIP, e.url, http.Header{"Authorization": {"Bearer not.a.jwt"}})
			checkError(t, a, 401, "unauthorized")
		}},
		{name: "ws/handshake-expired-token", run: func(t *testing.T, e *env) {
			_, a := dialWS(t, caseIP, e.url, http.Header{"Authorization": {"Bearer " + tokenExpired(t)}})
			checkError(t, a, 401, "token_expired")
		}},
		{name: "ws/not-an-upgrade", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"order:*"}, nil)
			a := do(t, e.client, newReq(t, e, http.MethodGet, "/v1/ws?token="+tok, nil))
			checkError(t, a, 400, "bad_request")
		}},
		{name: "ws/handshake-origin-null", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"order:*"}, nil)
			_, a := dialWS(t, caseIP, e.url, http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"null"}})
			checkError(t, a, 403, "forbidden")
		}},
		{name: "ws/handshake-disallowed-origin", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"order:*"}, nil)
			_, a := dialWS(t, caseIP, e.url, http.Header{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}})
			checkError(t, a, 403, "forbidden")
		}},
		wsError("ws/non-json-frame", []byte("hello relay"), text, "", "bad_request"),
		wsError("ws/truncated-json-frame", []byte(`{"op":"subscribe","ref":"t1","topics":["order:1"`), text, "", "bad_request"),
		wsError("ws/unknown-op", []byte(`{"op":"shutdown","ref":"u1"}`), text, "u1", "unknown_op"),
		wsError("ws/binary-frame", []byte{0xff, 0x00, 0x01}, websocket.BinaryMessage, "", "bad_request"),
		wsError("ws/deep-nesting", append([]byte(`{"op":"subscribe","ref":"n1","topics":`), nested(20_000)...), text, "", "bad_request"),
		wsError("ws/subscribe-forbidden-topic", []byte(`{"op":"subscribe","ref":"f1","topics":["alerts:ops"]}`), text, "f1", "forbidden"),
		wsError("ws/subscribe-other-users-topic", []byte(`{"op":"subscribe","ref":"f2","topics":["user:bob"]}`), text, "f2", "forbidden"),
		wsError("ws/subscribe-topic-crlf", []byte(`{"op":"subscribe","ref":"c1","topics":["order:1\r\nX: 1"]}`), text, "c1", "bad_topic"),
		wsCase("ws/subscribe-invalid-utf8-topic", func(t *testing.T, _ *env, conn *websocket.Conn) {
			sendWSRaw(t, conn, text, []byte("{\"op\":\"subscribe\",\"ref\":\"c2\",\"topics\":[\"order:\xff\"]}"))
			// bad_topic (the decoder's U+FFFD breaks the topic rule) or
			// bad_request (the frame as a whole is not UTF-8): both right.
			f, err := readWS(conn)
			if err != nil || f.Op != "error" || f.Ref != "c2" || (f.Code != "bad_topic" && f.Code != "bad_request") {
				t.Fatalf("got %+v (%v), want error bad_topic or bad_request for ref c2", f, err)
			}
			wsAlive(t, conn, "order:alive")
		}),
		wsError("ws/subscribe-huge-topic-list", []byte(`{"op":"subscribe","ref":"h1","topics":[`+quotedTopics(2000)+`]}`), text, "h1", "bad_topic"),
		wsError("ws/subscribe-cursor-garbage", []byte(`{"op":"subscribe","ref":"g1","topics":["order:1"],"cursor":"garbage"}`), text, "g1", "bad_cursor"),
		wsError("ws/publish-without-grant", []byte(`{"op":"publish","ref":"p1","topic":"order:1","type":"x","data":{}}`), text, "p1", "forbidden"),
		wsError("ws/publish-data-over-max-event-bytes", []byte(`{"op":"publish","ref":"p2","topic":"room:alice","type":"x","data":"`+strings.Repeat("x", maxEventBytes)+`"}`), text, "p2", "too_large"),
		// Text frames must be UTF-8 (RFC 6455); this one was published as is
		// until relay/ws checked it.
		wsError("ws/publish-invalid-utf8-data", []byte("{\"op\":\"publish\",\"ref\":\"p3\",\"topic\":\"room:alice\",\"type\":\"x\",\"data\":\"\xff\xfe\"}"), text, "p3", "bad_request"),
		wsError("ws/auth-garbage-token", []byte(`{"op":"auth","ref":"a1","token":"not.a.jwt"}`), text, "a1", "unauthorized"),
		wsCase("ws/auth-other-subject", func(t *testing.T, e *env, conn *websocket.Conn) {
			sendWS(t, conn, map[string]any{"op": "auth", "ref": "a2", "token": e.token(t, "bob", []string{"*"}, []string{"*"})})
			expectWSError(t, conn, "a2", "forbidden")
			wsAlive(t, conn, "order:alive")
		}),
		wsCase("ws/auth-expired-token", func(t *testing.T, _ *env, conn *websocket.Conn) {
			sendWS(t, conn, map[string]any{"op": "auth", "ref": "a3", "token": tokenExpired(t)})
			expectWSError(t, conn, "a3", "token_expired")
			wsAlive(t, conn, "order:alive")
		}),
		wsCase("ws/subscribe-same-topic-twice", func(t *testing.T, _ *env, conn *websocket.Conn) {
			wsAlive(t, conn, "order:twice")
			sendWS(t, conn, map[string]any{"op": "subscribe", "ref": "d1", "topics": []string{"order:twice"}})
			expectWSError(t, conn, "d1", "bad_request")
			wsAlive(t, conn, "order:alive")
		}),
		wsCase("ws/topic-cap-across-frames", func(t *testing.T, _ *env, conn *websocket.Conn) {
			// maxTopics single-topic subscribes fill the connection; one
			// more is refused, and the connection still unsubscribes.
			for i := range maxTopics {
				wsAlive(t, conn, fmt.Sprintf("order:cap%d", i))
			}
			sendWS(t, conn, map[string]any{"op": "subscribe", "ref": "o1", "topics": []string{"order:one-too-many"}})
			expectWSError(t, conn, "o1", "bad_topic") // as SSE over the cap
			sendWS(t, conn, map[string]any{"op": "unsubscribe", "ref": "o2", "topics": []string{"order:cap0"}})
			f, err := readWS(conn)
			if err != nil || f.Op != "unsubscribed" || f.Ref != "o2" || len(f.Topics) != 1 {
				t.Fatalf("unsubscribe after the refusal: %+v %v", f, err)
			}
			wsAlive(t, conn, "order:alive")
		}),
		wsCaseAs("ws/publish-over-rate-limit", "rater", func(t *testing.T, e *env, conn *websocket.Conn) {
			// Burst publishes go through, then one is refused; the
			// connection stays. Publishing goes on until the refusal (the
			// bucket refills at 1/s, and a busy machine may be slow enough
			// to let a few more through), a bounded number of times.
			published, limited := 0, 0
			for i := 0; limited == 0 && i < 20*publishBurst; i++ {
				sendWS(t, conn, map[string]any{"op": "publish", "ref": fmt.Sprint("r", i), "topic": "room:rater", "type": "x", "data": map[string]int{"i": i}})
				f, err := readWS(conn)
				if err != nil {
					t.Fatalf("read answers: %v", err)
				}
				switch {
				case f.Op == "published":
					published++
				case f.Op == "error" && f.Code == "rate_limited":
					limited++
				default:
					t.Fatalf("unexpected frame %+v", f)
				}
			}
			if published < publishBurst || limited == 0 {
				t.Fatalf("published %d, rate limited %d: want at least the burst (%d) published and then rate_limited", published, limited, publishBurst)
			}
			wsAlive(t, conn, "order:alive")
		}),
		wsCase("ws/frame-over-read-limit", func(t *testing.T, _ *env, conn *websocket.Conn) {
			sendWSRaw(t, conn, websocket.TextMessage, []byte(`{"op":"publish","ref":"big","data":"`+strings.Repeat("x", wsReadLimit)+`"}`))
			expectWSClose(t, conn, websocket.CloseMessageTooBig)
		}),
	}
}

func quotedTopics(n int) string {
	q := make([]string, n)
	for i := range q {
		q[i] = fmt.Sprintf(`"order:%d"`, i)
	}
	return strings.Join(q, ",")
}
