package hostile

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// publishReq is POST /v1/publish with the test API key and a JSON body.
func publishReq(t *testing.T, e *env, body string) *http.Request {
	return newReq(t, e, http.MethodPost, "/v1/publish", []byte(body),
		"Content-Type", "application/json", "Authorization", "Bearer "+relaytest.APIKey)
}

func publishCases() []badCase {
	return []badCase{
		{name: "publish/no-credentials", status: 401, code: "unauthorized",
			header: map[string]string{"WWW-Authenticate": `Bearer realm="hookrelay"`},
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPost, "/v1/publish", []byte(`{"topic":"order:1","type":"x"}`), "Content-Type", "application/json")
			}},
		{name: "publish/wrong-api-key", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				r := publishReq(t, e, `{"topic":"order:1","type":"x"}`)
				r.Header.Set("Authorization", "Bearer "+relaytest.APIKey+"x")
				return r
			},
			check: messageNotContains(relaytest.APIKey)},
		{name: "publish/wrong-x-api-key", status: 401, code: "unauthorized",
			req: func(t *testing.T, e *env) *http.Request {
				r := publishReq(t, e, `{"topic":"order:1","type":"x"}`)
				r.Header.Del("Authorization")
				r.Header.Set("X-API-Key", "nope")
				return r
			}},
		{name: "publish/wrong-content-type", status: 415, code: "unsupported_media_type",
			req: func(t *testing.T, e *env) *http.Request {
				r := publishReq(t, e, `{"topic":"order:1","type":"x"}`)
				r.Header.Set("Content-Type", "text/plain")
				return r
			}},
		{name: "publish/oversized-body", status: 413, code: "too_large",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x","data":"`+strings.Repeat("x", maxBodyBytes)+`"}`)
			}},
		{name: "publish/truncated-json", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x","data":{"a":`)
			}},
		{name: "publish/empty-body", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request { return publishReq(t, e, ``) }},
		{name: "publish/trailing-data", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x"}{"topic":"order:2","type":"x"}`)
			}},
		{name: "publish/deep-nesting-100k", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request { return publishReq(t, e, string(nested(100_000))) }},
		{name: "publish/deep-nesting-in-data", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x","data":`+string(nested(100_000))+`}`)
			}},
		{name: "publish/invalid-utf8-topic", status: 400, code: "bad_topic",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, "{\"topic\":\"order:\xff\",\"type\":\"x\"}")
			}},
		{name: "publish/invalid-utf8-type", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, "{\"topic\":\"order:1\",\"type\":\"a\xffb\"}")
			}},
		{name: "publish/invalid-utf8-data", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, "{\"topic\":\"order:utf8\",\"type\":\"x\",\"data\":{\"s\":\"\xff\xfe\"}}")
			}},
		{name: "publish/topic-crlf", status: 400, code: "bad_topic",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1\r\nX-Injected: 1","type":"x"}`)
			},
			check: noHeader("X-Injected")},
		{name: "publish/topic-percent-encoded-crlf", status: 400, code: "bad_topic",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1%0d%0aX-Injected:1","type":"x"}`)
			}},
		{name: "publish/topic-too-long", status: 400, code: "bad_topic",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:`+strings.Repeat("9", 300)+`","type":"x"}`)
			}},
		{name: "publish/unknown-field", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x","admin":true}`)
			}},
		{name: "publish/wrong-field-type", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request { return publishReq(t, e, `{"topic":["order:1"],"type":"x"}`) }},
		{name: "publish/batch-over-1000", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				ev := `{"topic":"order:1","type":"x"}`
				return publishReq(t, e, `{"events":[`+strings.Repeat(ev+",", 1000)+ev+`]}`)
			}},
		{name: "publish/event-over-max-event-bytes", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:big","type":"x","data":"`+strings.Repeat("x", maxEventBytes)+`"}`)
			}},
		{name: "publish/idempotency-key-too-long", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return publishReq(t, e, `{"topic":"order:1","type":"x","idempotency_key":"`+strings.Repeat("k", 201)+`"}`)
			}},
		{name: "publish/batch-over-burst", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				// One token per event: a batch of burst+1 can never pass, so
				// it is a bad request ("split it"), not "retry later", and
				// nothing of it may be published.
				evs := make([]string, publishBurst+1)
				for i := range evs {
					evs[i] = fmt.Sprintf(`{"topic":"order:limited","type":"x","data":{"i":%d}}`, i)
				}
				r := publishReq(t, e, `{"events":[`+strings.Join(evs, ",")+`]}`)
				r.Header.Set("Authorization", "Bearer "+limitedKey)
				return r
			}},
		{name: "publish/refused-batch-keeps-budget", run: func(t *testing.T, e *env) {
			// Right after the refused batch above: nothing of it was
			// published, so the key's burst must still be there.
			r := publishReq(t, e, `{"topic":"order:limited","type":"x"}`)
			r.Header.Set("Authorization", "Bearer "+limitedKey)
			a := do(t, e.client, r)
			if a.status != http.StatusOK {
				t.Fatalf("got %s, want 200", a)
			}
		}},
		{name: "publish/over-rate-limit", run: func(t *testing.T, e *env) {
			// A full-burst batch while the bucket is short of a full
			// burst must wait (1/s refill): 429, retry later. The single
			// event above took a token, but on a busy machine the bucket
			// may have refilled since; a batch that passes empties it,
			// so the next one is refused unless five more seconds went by.
			evs := make([]string, publishBurst)
			for i := range evs {
				evs[i] = fmt.Sprintf(`{"topic":"order:limited","type":"x","data":{"i":%d}}`, i)
			}
			var a answer
			for range 10 {
				r := publishReq(t, e, `{"events":[`+strings.Join(evs, ",")+`]}`)
				r.Header.Set("Authorization", "Bearer "+limitedKey)
				if a = do(t, e.client, r); a.status != http.StatusOK {
					break
				}
			}
			checkError(t, a, http.StatusTooManyRequests, "rate_limited")
			if got := a.header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After %q, want 1", got)
			}
		}},
		{name: "publish/token-without-publish-grant", status: 403, code: "forbidden",
			req: func(t *testing.T, e *env) *http.Request {
				r := publishReq(t, e, `{"topic":"order:1","type":"x"}`)
				r.Header.Set("Authorization", "Bearer "+e.token(t, "alice", []string{"order:*"}, nil))
				return r
			}},
		{name: "publish/token-for-other-topic", status: 403, code: "forbidden",
			req: func(t *testing.T, e *env) *http.Request {
				r := publishReq(t, e, `{"events":[{"topic":"room:alice","type":"x"},{"topic":"room:bob","type":"x"}]}`)
				r.Header.Set("Authorization", "Bearer "+e.token(t, "alice", nil, []string{"room:alice"}))
				return r
			}},
		{name: "history/cursor-garbage", status: 400, code: "bad_cursor",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/v1/topics/order:1/events?after=zzz-%00", nil,
					"Authorization", "Bearer "+e.token(t, "alice", []string{"order:*"}, nil))
			}},
		{name: "history/limit-negative", status: 400, code: "bad_request",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/v1/topics/order:1/events?limit=-5", nil,
					"Authorization", "Bearer "+e.token(t, "alice", []string{"order:*"}, nil))
			}},
		{name: "history/other-users-topic", status: 403, code: "forbidden",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/v1/topics/user:bob/events", nil,
					"Authorization", "Bearer "+e.token(t, "alice", []string{"user:{sub}"}, nil))
			}},
		{name: "read/id-garbage", status: 400, code: "bad_cursor",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodPut, "/v1/topics/user:alice/read", []byte(`{"id":"99999999999999999999999-1"}`),
					"Content-Type", "application/json", "Authorization", "Bearer "+e.token(t, "alice", []string{"user:{sub}"}, nil))
			}},
		{name: "unread/other-users-topic", status: 403, code: "forbidden",
			req: func(t *testing.T, e *env) *http.Request {
				return newReq(t, e, http.MethodGet, "/v1/topics/user:bob/unread", nil,
					"Authorization", "Bearer "+e.token(t, "alice", []string{"user:{sub}"}, nil))
			}},
	}
}

// tokenCases present forged or broken tokens to the SSE endpoint (the
// same authenticator guards every route).
func tokenCases() []badCase {
	sse := func(tok func(t *testing.T, e *env) string, status int, code string) func(t *testing.T, e *env) {
		return func(t *testing.T, e *env) {
			t.Helper()
			h := http.Header{"Authorization": {"Bearer " + tok(t, e)}}
			sseRefused(t, e, caseIP, "/v1/sse?topic=order:1", h, status, code)
		}
	}
	return []badCase{
		{name: "token/alg-none", run: sse(func(t *testing.T, _ *env) string { return tokenAlgNone(t) }, 401, "unauthorized")},
		{name: "token/alg-NONE", run: sse(func(t *testing.T, _ *env) string { return tokenAlgNoneUpper(t) }, 401, "unauthorized")},
		{name: "token/wrong-key", run: sse(func(t *testing.T, _ *env) string { return tokenWrongKey(t) }, 401, "unauthorized")},
		{name: "token/expired", run: sse(func(t *testing.T, _ *env) string { return tokenExpired(t) }, 401, "token_expired")},
		{name: "token/nbf-in-future", run: sse(func(t *testing.T, _ *env) string { return tokenNotYetValid(t) }, 401, "unauthorized")},
		{name: "token/wrong-audience", run: sse(func(t *testing.T, _ *env) string { return tokenWrongAudience(t) }, 401, "unauthorized")},
		{name: "token/no-exp", run: sse(func(t *testing.T, _ *env) string { return tokenNoExp(t) }, 401, "unauthorized")},
		{name: "token/hs256-signed-with-jwks-public-key", run: sse(func(t *testing.T, e *env) string { return tokenHSWithPublicKey(t, e.rsaPEM) }, 401, "unauthorized")},
		{name: "token/subject-widening-grant", run: sse(func(t *testing.T, _ *env) string { return tokenWideSubject(t) }, 401, "unauthorized")},
		{name: "token/over-8KiB", run: sse(func(*testing.T, *env) string { return tokenHuge() }, 401, "unauthorized")},
		{name: "token/garbage", run: sse(func(*testing.T, *env) string { return "not.a.jwt" }, 401, "unauthorized")},
		{name: "token/in-query-for-other-users-topic", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"user:{sub}"}, nil)
			sseRefused(t, e, caseIP, "/v1/sse?topic=user:bob&token="+tok, nil, 403, "forbidden")
		}},
		{name: "token/cookie-for-other-users-topic", run: func(t *testing.T, e *env) {
			tok := e.token(t, "alice", []string{"user:{sub}"}, nil)
			sseRefused(t, e, caseIP, "/v1/sse?topic=user:alice&topic=user:bob", http.Header{"Cookie": {"hookrelay_token=" + tok}}, 403, "forbidden")
		}},
	}
}
