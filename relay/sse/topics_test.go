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
