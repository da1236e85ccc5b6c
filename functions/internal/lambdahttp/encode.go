package lambdahttp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// recorder is the http.ResponseWriter a Lambda invocation serves into: the
// whole answer is one event, so it is buffered.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 && code >= 100 && code <= 999 {
		w.code = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Response shapes. Own types rather than aws-lambda-go's so no null maps
// reach the services and each shape carries only the header form it
// expects.
type v2Response struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Cookies         []string          `json:"cookies,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type albResponse struct {
	StatusCode        int                 `json:"statusCode"`
	StatusDescription string              `json:"statusDescription"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

type restResponse struct {
	StatusCode        int                 `json:"statusCode"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// Encode returns the response event for status, header and body in the
// request's shape. Bodies that are not UTF-8 text go base64-encoded.
func (r *Request) Encode(status int, header http.Header, body []byte) (json.RawMessage, error) {
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if len(body) > 0 && header.Get("Content-Type") == "" {
		header.Set("Content-Type", http.DetectContentType(body))
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))
	text, b64 := encodeBody(header, body)
	var v any
	switch r.Shape {
	case ShapeHTTPAPI, ShapeFunctionURL:
		// Payload 2.0: one value per header (commas join repeats), cookies
		// in their own list since Set-Cookie values cannot be joined.
		cookies := header.Values("Set-Cookie")
		header.Del("Set-Cookie")
		v = v2Response{StatusCode: status, Headers: joined(header), Cookies: cookies, Body: text, IsBase64Encoded: b64}
	case ShapeALB:
		a := albResponse{StatusCode: status, StatusDescription: statusDescription(status), Body: text, IsBase64Encoded: b64}
		if r.multiValue {
			a.MultiValueHeaders = map[string][]string(header)
		} else {
			// Without multi-value headers the ALB takes one value per
			// name: repeats are joined, and only the last cookie is set.
			if c := header.Values("Set-Cookie"); len(c) > 1 {
				header["Set-Cookie"] = c[len(c)-1:]
			}
			a.Headers = joined(header)
		}
		v = a
	case ShapeREST:
		v = restResponse{StatusCode: status, MultiValueHeaders: map[string][]string(header), Body: text, IsBase64Encoded: b64}
	default:
		return nil, fmt.Errorf("encode response: unknown shape %d", r.Shape)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s response: %w", r.Shape, err)
	}
	return out, nil
}

// statusDescription is the status line text the ALB requires: "200 OK".
func statusDescription(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

func joined(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, vs := range h {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

// encodeBody returns the body as the event's string and whether it is
// base64: text stays readable in logs, anything else survives intact.
func encodeBody(h http.Header, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if h.Get("Content-Encoding") == "" && isText(h.Get("Content-Type")) && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/problem+json", mt == "image/svg+xml":
		return true
	}
	return false
}
