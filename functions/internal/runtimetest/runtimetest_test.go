package runtimetest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A runtime speaking the protocol by hand: next, response, error, and the
// answers the real Runtime API gives to mistakes.
func TestProtocol(t *testing.T) {
	rt := Start(t)
	base := "http://" + rt.Addr() + "/2018-06-01/runtime/"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	runtime := func(answer func(id string) (string, string)) {
		resp, err := http.Get(base + "invocation/next")
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body) // a short read shows up in the comparison below
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
		if err != nil || time.UnixMilli(ms).Before(time.Now()) || string(body) != `{"n":1}` {
			t.Errorf("next: id %q deadline %v body %s", id, err, body)
		}
		path, payload := answer(id)
		r, err := http.Post(base+"invocation/"+id+path, "application/json", strings.NewReader(payload))
		if err != nil {
			t.Error(err)
			return
		}
		r.Body.Close()
		if r.StatusCode != http.StatusAccepted {
			t.Errorf("post %s: %s", path, r.Status)
		}
	}

	go runtime(func(string) (string, string) { return "/response", `{"ok":true}` })
	res, err := rt.Invoke(ctx, []byte(`{"n":1}`), 5*time.Second)
	if err != nil || string(res.Payload) != `{"ok":true}` || res.Err != nil {
		t.Fatalf("invoke: %+v %v", res, err)
	}
	if _, err := rt.FirstNext(ctx); err != nil {
		t.Error(err)
	}

	go runtime(func(string) (string, string) { return "/error", `{"errorMessage":"boom","errorType":"errorString"}` })
	res, err = rt.Invoke(ctx, []byte(`{"n":1}`), 5*time.Second)
	if err != nil || res.Err == nil || res.Err.Message != "boom" {
		t.Fatalf("invoke error: %+v %v", res, err)
	}

	r, err := http.Post(base+"invocation/nope/response", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown id: %s", r.Status)
	}

	r, err = http.Post(base+"init/error", "application/json", strings.NewReader(`{"errorMessage":"no config","errorType":"Runtime.ConfigError"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if e, err := rt.InitError(ctx); err != nil || e.Message != "no config" || r.StatusCode != http.StatusAccepted {
		t.Errorf("init error %+v %v %s", e, err, r.Status)
	}
}
