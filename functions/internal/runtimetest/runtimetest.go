// Package runtimetest emulates the AWS Lambda Runtime API (version
// 2018-06-01) over real HTTP, so tests run the real bootstrap binary the way
// Lambda does: the runtime long-polls GET /runtime/invocation/next, gets the
// event with its Lambda-Runtime-Aws-Request-Id and Lambda-Runtime-Deadline-Ms
// headers and answers POST /runtime/invocation/{id}/response or /error; a
// failed start is reported on POST /runtime/init/error.
package runtimetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const prefix = "/2018-06-01/runtime/"

// ErrorResponse is the body a runtime posts to /error and /init/error.
type ErrorResponse struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// Result is the outcome of one invocation.
type Result struct {
	// Payload is the function's response (nil when it failed).
	Payload []byte
	// Err is set when the runtime posted to /error.
	Err *ErrorResponse
	// Elapsed runs from handing the event out to the runtime's answer.
	Elapsed time.Duration
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	handedAt time.Time
	result   chan Result
}

// Runtime is one emulated execution environment's Runtime API.
type Runtime struct {
	srv     *httptest.Server
	queue   chan *invocation
	done    chan struct{}
	initErr chan ErrorResponse

	mu        sync.Mutex
	pending   map[string]*invocation
	seq       int
	firstNext time.Time
	nextSeen  chan struct{} // closed at the first GET /next
}

// Start serves the Runtime API on a free loopback port until the test ends.
func Start(t testing.TB) *Runtime {
	r := &Runtime{
		queue:    make(chan *invocation),
		done:     make(chan struct{}),
		initErr:  make(chan ErrorResponse, 1),
		pending:  map[string]*invocation{},
		nextSeen: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"invocation/next", r.next)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/response", r.answer)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/error", r.answer)
	mux.HandleFunc("POST "+prefix+"init/error", r.initError)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(r.done) // releases long-polling /next calls
		r.srv.Close()
	})
	return r
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Invoke hands payload to the runtime's next GET /next and waits for its
// answer. timeout is the function timeout (the deadline header).
func (r *Runtime) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id:       fmt.Sprintf("req-%04d-8f0c-4c2a-9a1e", r.seq),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		result:   make(chan Result, 1),
	}
	r.pending[inv.id] = inv
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, inv.id)
		r.mu.Unlock()
	}()
	select {
	case r.queue <- inv:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invoke: no runtime asked for the next event: %w", ctx.Err())
	}
	select {
	case res := <-inv.result:
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invoke %s: no answer: %w", inv.id, ctx.Err())
	}
}

// FirstNext waits for the runtime's first GET /next (the end of its init
// phase) and returns when it came.
func (r *Runtime) FirstNext(ctx context.Context) (time.Time, error) {
	select {
	case <-r.nextSeen:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.firstNext, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("runtime never asked for an event: %w", ctx.Err())
	}
}

// InitError waits for a POST /runtime/init/error.
func (r *Runtime) InitError(ctx context.Context) (ErrorResponse, error) {
	select {
	case e := <-r.initErr:
		return e, nil
	case <-ctx.Done():
		return ErrorResponse{}, fmt.Errorf("no init error reported: %w", ctx.Err())
	}
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstNext.IsZero() {
		r.firstNext = time.Now()
		close(r.nextSeen)
	}
	r.mu.Unlock()
	select {
	case inv := <-r.queue:
		inv.handedAt = time.Now()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:hookrelay-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(inv.payload)
	case <-req.Context().Done():
	case <-r.done:
		// The runtime's next call fails and the process exits: the test
		// is over anyway.
		http.Error(w, "runtime API shutting down", http.StatusGone)
	}
}

func (r *Runtime) answer(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	r.mu.Lock()
	inv := r.pending[id]
	r.mu.Unlock()
	if inv == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown request id "+id)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	res := Result{Elapsed: time.Since(inv.handedAt)}
	if strings.HasSuffix(req.URL.Path, "/error") {
		res.Err = &ErrorResponse{}
		if err := json.Unmarshal(body, res.Err); err != nil {
			res.Err = &ErrorResponse{Message: string(body), Type: req.Header.Get("Lambda-Runtime-Function-Error-Type")}
		}
	} else {
		res.Payload = body
	}
	select {
	case inv.result <- res:
	default:
		writeError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" already answered")
		return
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	var e ErrorResponse
	if err := json.NewDecoder(req.Body).Decode(&e); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	select {
	case r.initErr <- e:
	default:
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(ErrorResponse{Message: msg, Type: typ}) // a struct of strings always encodes
	w.Write(b)
}
