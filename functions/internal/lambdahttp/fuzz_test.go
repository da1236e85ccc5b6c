package lambdahttp

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// FuzzDecodeEvent: any JSON (or not) never panics the adapter, and a
// decoded request is complete enough for a handler.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"requestContext":{"http":{"method":"POST"}},"rawPath":"/hooks/x","body":"e30=","isBase64Encoded":true}`))
	f.Add([]byte(`{"requestContext":{"elb":{}},"httpMethod":"GET","path":"/%zz","queryStringParameters":{"%":"%%"}}`))
	f.Add([]byte(`{"httpMethod":"POST","path":"/a b","multiValueHeaders":{"x":[]}}`))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // the fuzzer checks for panics, not errors
		_ = r.URL.Query()
		w.Header().Set("X", r.Header.Get("Cookie"))
		w.Write([]byte(r.URL.String()))
	})
	serve := Handler(h, Options{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := DecodeEvent(context.Background(), raw)
		if err == nil && (req.HTTP == nil || req.HTTP.URL == nil || req.HTTP.Method == "" || req.HTTP.Body == nil) {
			t.Fatalf("incomplete request %+v", req)
		}
		out, err := serve(context.Background(), raw)
		if err == nil && len(out) == 0 {
			t.Fatal("empty response without error")
		}
	})
}
