package hostile

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// badCase is one row of the table. HTTP rows give req and the exact
// answer (status, error code, headers); the others (SSE streams, WebSocket
// frames, raw TCP, several connections) give run.
type badCase struct {
	name string

	req    func(t *testing.T, e *env) *http.Request
	status int
	code   string            // JSON error code; "" when the body is not the JSON shape
	header map[string]string // exact header values expected on the answer
	check  func(t *testing.T, a answer)

	run func(t *testing.T, e *env)
}

func (c badCase) exec(t *testing.T, e *env) {
	if c.run != nil {
		c.run(t, e)
		return
	}
	a := do(t, e.client, c.req(t, e))
	checkError(t, a, c.status, c.code)
	for k, v := range c.header {
		if got := a.header.Get(k); got != v {
			t.Errorf("header %s: got %q, want %q", k, got, v)
		}
	}
	if c.check != nil {
		c.check(t, a)
	}
}

// badCases is the whole table, by area.
func badCases() []badCase {
	var all []badCase
	all = append(all, webhookCases()...)
	all = append(all, publishCases()...)
	all = append(all, tokenCases()...)
	all = append(all, sseCases()...)
	all = append(all, wsCases()...)
	all = append(all, cursorCases()...)
	all = append(all, httpCases()...)
	return all
}

// newReq builds a request to the relay; body may be nil.
func newReq(t *testing.T, e *env, method, path string, body []byte, header ...string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		t.Fatalf("build request %s: %v", path, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// nested returns n '[' (and nothing else): deep nesting a recursive parser
// would follow until the stack ran out.
func nested(n int) []byte { return bytes.Repeat([]byte{'['}, n) }

// noHeader asserts an injected header did not make it into the answer.
func noHeader(name string) func(t *testing.T, a answer) {
	return func(t *testing.T, a answer) {
		t.Helper()
		if a.header.Get(name) != "" {
			t.Fatalf("header %s was injected: %v", name, a.header)
		}
	}
}

// messageNotContains asserts the error message does not echo s.
func messageNotContains(s string) func(t *testing.T, a answer) {
	return func(t *testing.T, a answer) {
		t.Helper()
		if strings.Contains(string(a.body), s) {
			t.Fatalf("answer echoes %q: %s", s, a)
		}
	}
}
