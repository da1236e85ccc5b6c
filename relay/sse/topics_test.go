package sse_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/relay/hub"
	"github.com/hookrelay/hookrelay/relay/sse"
)

// M3 (security review 2026-12): topic parameters were validated and
// de-duplicated quadratically before authentication and before the topic
// cap. More than MaxTopics parameters are now refused first, so an
// unauthenticated request's cost is bounded by the cap: it answers 400
// naming the cap, not 401 after parsing thousands of topics.
func TestTopicParamsCappedBeforeAuth(t *testing.T) {
	e := newEnv(t, hub.Options{MaxTopics: 100}, sse.Options{Auth: denyAuth{auth.ErrNoCredentials}})
	q := make([]string, 4700)
	for i := range q {
		q[i] = fmt.Sprintf("topic=a:%d", i)
	}
	checkError(t, e, "/v1/sse?"+strings.Join(q, "&"), 400, "bad_topic")
	// At the cap the request goes on to authentication.
	checkError(t, e, "/v1/sse?"+strings.Join(q[:100], "&"), 401, "unauthorized")
}

// The parameter count is checked on the raw query, before url.ParseQuery
// decodes each parameter, so parameters that are not topics count too:
// a stream URL padded with thousands of junk parameters is refused
// unparsed, while a few extra parameters (cursor, token, a cache buster)
// still pass.
func TestQueryParamsCappedBeforeParsing(t *testing.T) {
	e := newEnv(t, hub.Options{MaxTopics: 100}, sse.Options{Auth: denyAuth{auth.ErrNoCredentials}})
	junk := make([]string, 4700)
	for i := range junk {
		junk[i] = fmt.Sprintf("x%d=1", i)
	}
	checkError(t, e, "/v1/sse?topic=a:1&"+strings.Join(junk, "&"), 400, "bad_topic")
	// Escaped parameter names are counted too (topi%63 decodes to topic).
	esc := strings.Repeat("topi%63=a:1&", 200) + "topic=a:2"
	checkError(t, e, "/v1/sse?"+esc, 400, "bad_topic")
	checkError(t, e, "/v1/sse?topic=a:1&"+strings.Join(junk[:16], "&"), 401, "unauthorized")
}
