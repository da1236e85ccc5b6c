package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// seen is what the handler observed.
type seen struct {
	method, path, rawQuery, host, remote string
	query                                map[string][]string
	header                               http.Header
	body                                 []byte
}

// serve runs event through Handler with a handler that records the
// request and answers with answer.
func serve(t *testing.T, event []byte, answer func(w http.ResponseWriter)) (seen, map[string]any) {
	t.Helper()
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.RemoteAddr, r.URL.Query(), r.Header.Clone(), b}
		answer(w)
	})
	out, err := Handler(h, Options{})(context.Background(), event)
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return got, resp
}

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit applies fn to the decoded event and re-encodes it.
func edit(t *testing.T, raw []byte, fn func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	fn(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("response\n got %s\nwant %s", g, want)
	}
}

func okJSON(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.Header().Add("Vary", "Origin")
	w.Header().Add("Vary", "Accept")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"ok":true}`)
}

func TestHTTPAPIv2(t *testing.T) {
	for _, name := range []string{"apigw-v2-request-iam.json", "apigw-v2-request-jwt-authorizer.json", "apigw-v2-request-lambda-authorizer.json"} {
		t.Run(name, func(t *testing.T) {
			got, resp := serve(t, load(t, name), okJSON)
			if got.method != "GET" || got.path != "/my/path" {
				t.Errorf("request %s %s", got.method, got.path)
			}
			if got.rawQuery != "parameter1=value1&parameter1=value2&parameter2=value" {
				t.Errorf("raw query %q", got.rawQuery)
			}
			if q := got.query["parameter1"]; !reflect.DeepEqual(q, []string{"value1", "value2"}) {
				t.Errorf("parameter1 = %q", q)
			}
			if got.header.Get("header1") != "value1" || got.header.Get("HEADER2") != "value2" {
				t.Errorf("headers %v", got.header)
			}
			if c := got.header.Get("Cookie"); c != "cookie1; cookie2" {
				t.Errorf("Cookie = %q", c)
			}
			if string(got.body) != "{\r\n\t\"a\": 1\r\n}" {
				t.Errorf("body %q", got.body)
			}
			if got.host != "id.execute-api.us-east-1.amazonaws.com" || got.remote != "IP" {
				t.Errorf("host %q remote %q", got.host, got.remote)
			}
			jsonEqual(t, resp, `{"statusCode":201,"headers":{"Content-Type":"application/json","Content-Length":"11","Vary":"Origin,Accept"},
				"cookies":["a=1","b=2"],"body":"{\"ok\":true}","isBase64Encoded":false}`)
		})
	}
}

func TestHTTPAPIv2NoAuthorizer(t *testing.T) {
	got, resp := serve(t, load(t, "apigw-v2-request-no-authorizer.json"), func(w http.ResponseWriter) {})
	if got.method != "GET" || got.path != "/" || got.rawQuery != "" || len(got.body) != 0 {
		t.Errorf("request %+v", got)
	}
	if got.host != "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com" || got.header.Get("Host") != "" {
		t.Errorf("host %q, header %q", got.host, got.header.Get("Host"))
	}
	if got.header.Get("X-Forwarded-Proto") != "https" || got.remote != "1.2.3.4" {
		t.Errorf("headers %v remote %q", got.header, got.remote)
	}
	jsonEqual(t, resp, `{"statusCode":200,"headers":{"Content-Length":"0"},"body":"","isBase64Encoded":false}`)
}

func TestFunctionURL(t *testing.T) {
	req, err := DecodeEvent(context.Background(), load(t, "lambda-urls-request.json"))
	if err != nil || req.Shape != ShapeFunctionURL {
		t.Fatalf("shape %v err %v", req, err)
	}
	got, resp := serve(t, load(t, "lambda-urls-request.json"), okJSON)
	if got.method != "POST" || got.path != "/my/path" || string(got.body) != "Hello from client!" {
		t.Errorf("request %+v", got)
	}
	// Function URLs join repeated headers with commas, like HTTP APIs.
	if got.header.Get("Header2") != "value1,value2" || got.header.Get("Cookie") != "cookie1; cookie2" {
		t.Errorf("headers %v", got.header)
	}
	jsonEqual(t, resp, `{"statusCode":201,"headers":{"Content-Type":"application/json","Content-Length":"11","Vary":"Origin,Accept"},
		"cookies":["a=1","b=2"],"body":"{\"ok\":true}","isBase64Encoded":false}`)
}

func TestALBHeadersOnly(t *testing.T) {
	got, resp := serve(t, load(t, "alb-lambda-target-request-headers-only.json"), okJSON)
	if got.method != "GET" || got.path != "/" || got.query["key"][0] != "hello" {
		t.Errorf("request %+v", got)
	}
	if got.host != "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com" || got.remote != "25.12.198.67" {
		t.Errorf("host %q remote %q", got.host, got.remote)
	}
	jsonEqual(t, resp, `{"statusCode":201,"statusDescription":"201 Created",
		"headers":{"Content-Type":"application/json","Content-Length":"11","Vary":"Origin,Accept","Set-Cookie":"b=2"},
		"body":"{\"ok\":true}","isBase64Encoded":false}`)
}

func TestALBMultiValue(t *testing.T) {
	got, resp := serve(t, load(t, "alb-lambda-target-request-multivalue-headers.json"), func(w http.ResponseWriter) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hi")
	})
	if got.query["key"][0] != "hello" || got.header.Get("User-Agent") != "curl/7.54.0" {
		t.Errorf("request %+v", got)
	}
	jsonEqual(t, resp, `{"statusCode":200,"statusDescription":"200 OK",
		"multiValueHeaders":{"Content-Type":["text/plain; charset=utf-8"],"Content-Length":["2"],"Set-Cookie":["a=1","b=2"]},
		"body":"hi","isBase64Encoded":false}`)
}

// The ALB does not URL-decode the query string: the adapter does.
func TestALBQueryDecoded(t *testing.T) {
	for _, multi := range []bool{false, true} {
		ev := edit(t, load(t, "alb-lambda-target-request-headers-only.json"), func(ev map[string]any) {
			if multi {
				delete(ev, "queryStringParameters")
				ev["multiValueQueryStringParameters"] = map[string]any{"a%20b": []any{"x%2By", "2"}, "c": []any{"100%"}}
			} else {
				ev["queryStringParameters"] = map[string]any{"a%20b": "x%2By", "c": "100%"}
			}
		})
		got, _ := serve(t, ev, func(w http.ResponseWriter) {})
		want := map[string][]string{"a b": {"x+y"}, "c": {"100%"}}
		if multi {
			want["a b"] = []string{"x+y", "2"}
		}
		if !reflect.DeepEqual(got.query, want) {
			t.Errorf("multi=%v query %v", multi, got.query)
		}
	}
}

func TestRESTv1(t *testing.T) {
	got, resp := serve(t, load(t, "apigw-request.json"), okJSON)
	if got.method != "POST" || got.path != "/hello/world" || got.query["name"][0] != "me" {
		t.Errorf("request %+v", got)
	}
	if string(got.body) != "{\r\n\t\"a\": 1\r\n}" || got.header.Get("CACHE-CONTROL") != "no-cache" {
		t.Errorf("body %q headers %v", got.body, got.header)
	}
	if got.host != "gy415nuibc.execute-api.us-east-1.amazonaws.com" {
		t.Errorf("host %q", got.host)
	}
	jsonEqual(t, resp, `{"statusCode":201,
		"multiValueHeaders":{"Content-Type":["application/json"],"Content-Length":["11"],"Vary":["Origin","Accept"],"Set-Cookie":["a=1","b=2"]},
		"body":"{\"ok\":true}","isBase64Encoded":false}`)
}

func TestRESTv1MultiValueQuery(t *testing.T) {
	ev := edit(t, load(t, "apigw-request.json"), func(ev map[string]any) {
		ev["multiValueQueryStringParameters"] = map[string]any{"t": []any{"a b", "c&d"}}
		ev["multiValueHeaders"] = map[string]any{"X-Many": []any{"1", "2"}}
	})
	got, _ := serve(t, ev, func(w http.ResponseWriter) {})
	if !reflect.DeepEqual(got.query["t"], []string{"a b", "c&d"}) || !reflect.DeepEqual(got.header.Values("x-many"), []string{"1", "2"}) {
		t.Errorf("query %v headers %v", got.query, got.header)
	}
}

// Base64 bodies reach the handler as the exact bytes, in every shape;
// binary answers go back base64.
func TestBase64Exact(t *testing.T) {
	raw := []byte{0xff, 0x00, '{', '"', 0xc3, 0x28, '\r', '\n', 0x80}
	for _, name := range []string{"apigw-v2-request-iam.json", "lambda-urls-request.json", "alb-lambda-target-request-headers-only.json", "apigw-request.json"} {
		ev := edit(t, load(t, name), func(ev map[string]any) {
			ev["body"] = base64.StdEncoding.EncodeToString(raw)
			ev["isBase64Encoded"] = true
		})
		got, resp := serve(t, ev, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(raw)
		})
		if !bytes.Equal(got.body, raw) {
			t.Errorf("%s: body %x", name, got.body)
		}
		if resp["isBase64Encoded"] != true || resp["body"] != base64.StdEncoding.EncodeToString(raw) {
			t.Errorf("%s: response %v", name, resp)
		}
	}
}

func TestBadBase64Is400(t *testing.T) {
	ev := edit(t, load(t, "alb-lambda-target-request-headers-only.json"), func(ev map[string]any) {
		ev["body"] = "!!not base64"
		ev["isBase64Encoded"] = true
	})
	out, err := Handler(http.NotFoundHandler(), Options{})(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp["statusCode"] != 400.0 || resp["statusDescription"] != "400 Bad Request" {
		t.Errorf("response %s", out)
	}
}

func TestNotHTTP(t *testing.T) {
	for _, ev := range []string{`{}`, `[]`, `{"Records":[]}`, `"x"`, `{"requestContext":{"http":[]}}`} {
		_, err := Handler(http.NotFoundHandler(), Options{})(context.Background(), json.RawMessage(ev))
		if err == nil {
			t.Errorf("%s: no error", ev)
		}
		if !errors.Is(err, ErrNotHTTP) {
			t.Errorf("%s: %v", ev, err)
		}
	}
}

func TestStatusDescription(t *testing.T) {
	for code, want := range map[int]string{200: "200 OK", 503: "503 Service Unavailable", 401: "401 Unauthorized", 599: "599"} {
		if got := statusDescription(code); got != want {
			t.Errorf("%d: %q", code, got)
		}
	}
}
