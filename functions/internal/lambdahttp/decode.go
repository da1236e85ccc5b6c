package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrNotHTTP is returned (wrapped) for an event that is none of the HTTP
// shapes.
var ErrNotHTTP = errors.New("not an HTTP event")

// Request is a decoded HTTP event: the request to serve and what is needed
// to answer in the event's shape.
type Request struct {
	Shape Shape
	HTTP  *http.Request
	// multiValue is set when an ALB request carried multiValueHeaders
	// (the target group has them enabled): the answer must use them too.
	multiValue bool
}

// probe finds the shape without decoding the whole event twice over.
type probe struct {
	RequestContext struct {
		HTTP       *json.RawMessage `json:"http"`
		ELB        *json.RawMessage `json:"elb"`
		Stage      string           `json:"stage"`
		DomainName string           `json:"domainName"`
	} `json:"requestContext"`
	HTTPMethod string `json:"httpMethod"`
}

// DecodeEvent turns an HTTP event into a Request. When the shape is known
// but the event is malformed, it returns the Request (without HTTP) and an
// error, so the caller can answer 400 in that shape; for anything else the
// Request is nil.
func DecodeEvent(ctx context.Context, raw []byte) (*Request, error) {
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotHTTP, err)
	}
	switch {
	case p.RequestContext.HTTP != nil:
		shape := ShapeHTTPAPI
		// Function URLs carry no stage; HTTP APIs always do ($default).
		if p.RequestContext.Stage == "" || strings.Contains(p.RequestContext.DomainName, ".lambda-url.") {
			shape = ShapeFunctionURL
		}
		return decodeV2(ctx, raw, shape)
	case p.RequestContext.ELB != nil:
		return decodeALB(ctx, raw)
	case p.HTTPMethod != "":
		return decodeREST(ctx, raw)
	}
	return nil, fmt.Errorf("%w: no requestContext.http, requestContext.elb or httpMethod", ErrNotHTTP)
}

func decodeV2(ctx context.Context, raw []byte, shape Shape) (*Request, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%w: decode %s event: %v", ErrNotHTTP, shape, err)
	}
	out := &Request{Shape: shape}
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return out, err
	}
	h := make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		// Payload 2.0 joins repeated headers with commas, which is an
		// equivalent form for every request header but Cookie, which it
		// moves to the cookies array.
		h.Add(k, v)
	}
	if len(ev.Cookies) > 0 {
		h.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := parsePath(path)
	u.RawQuery = ev.RawQueryString
	r, err := newRequest(ctx, ev.RequestContext.HTTP.Method, u, h, body)
	if err != nil {
		return out, err
	}
	setProto(r, ev.RequestContext.HTTP.Protocol)
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	out.HTTP = r
	return out, nil
}

func decodeALB(ctx context.Context, raw []byte) (*Request, error) {
	var ev events.ALBTargetGroupRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%w: decode alb event: %v", ErrNotHTTP, err)
	}
	out := &Request{Shape: ShapeALB, multiValue: ev.MultiValueHeaders != nil}
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return out, err
	}
	// The ALB passes the query string as the client sent it, without
	// URL-decoding keys and values.
	q := url.Values{}
	if ev.MultiValueQueryStringParameters != nil {
		for k, vs := range ev.MultiValueQueryStringParameters {
			for _, v := range vs {
				q.Add(unescape(k), unescape(v))
			}
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			q.Add(unescape(k), unescape(v))
		}
	}
	u := parsePath(ev.Path)
	u.RawQuery = q.Encode()
	r, err := newRequest(ctx, ev.HTTPMethod, u, headers(ev.Headers, ev.MultiValueHeaders), body)
	if err != nil {
		return out, err
	}
	r.RemoteAddr = clientIP(r.Header.Get("X-Forwarded-For"))
	out.HTTP = r
	return out, nil
}

func decodeREST(ctx context.Context, raw []byte) (*Request, error) {
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%w: decode rest event: %v", ErrNotHTTP, err)
	}
	out := &Request{Shape: ShapeREST}
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return out, err
	}
	// REST APIs hand over decoded query values and a decoded path.
	q := url.Values{}
	if ev.MultiValueQueryStringParameters != nil {
		for k, vs := range ev.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			q.Add(k, v)
		}
	}
	u := &url.URL{Path: ev.Path, RawQuery: q.Encode()}
	r, err := newRequest(ctx, ev.HTTPMethod, u, headers(ev.Headers, ev.MultiValueHeaders), body)
	if err != nil {
		return out, err
	}
	setProto(r, ev.RequestContext.Protocol)
	r.RemoteAddr = ev.RequestContext.Identity.SourceIP
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	out.HTTP = r
	return out, nil
}

// decodeBody returns the exact bytes the client sent.
func decodeBody(body string, b64 bool) ([]byte, error) {
	if !b64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("base64 body: %w", err)
	}
	return b, nil
}

// headers prefers multiValueHeaders (REST, ALB with them enabled), which
// keep repeated headers apart.
func headers(single map[string]string, multi map[string][]string) http.Header {
	if len(multi) > 0 {
		h := make(http.Header, len(multi))
		for k, vs := range multi {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		return h
	}
	h := make(http.Header, len(single))
	for k, v := range single {
		h.Add(k, v)
	}
	return h
}

func newRequest(ctx context.Context, method string, u *url.URL, h http.Header, body []byte) (*http.Request, error) {
	if method == "" || !validMethod(method) {
		return nil, fmt.Errorf("bad method %q", method)
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	// NewRequest re-parses u.String(); keep the original path decoding.
	r.URL = u
	r.RequestURI = u.RequestURI()
	// As net/http's server does: Host moves from the header map to r.Host.
	r.Host = h.Get("Host")
	h.Del("Host")
	r.Header = h
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r, nil
}

// parsePath keeps the raw (escaped) form of a path when it parses, the
// literal path otherwise.
func parsePath(p string) *url.URL {
	if p == "" {
		p = "/"
	}
	if u, err := url.ParseRequestURI(p); err == nil && u.RawQuery == "" && u.Fragment == "" && u.Host == "" {
		return &url.URL{Path: u.Path, RawPath: u.RawPath}
	}
	return &url.URL{Path: p}
}

func unescape(s string) string {
	if v, err := url.QueryUnescape(s); err == nil {
		return v
	}
	return s
}

// clientIP is the last address of X-Forwarded-For: the one the ALB added.
func clientIP(xff string) string {
	if i := strings.LastIndexByte(xff, ','); i >= 0 {
		xff = xff[i+1:]
	}
	return strings.TrimSpace(xff)
}

// setProto keeps the protocol the client spoke when the event names one.
func setProto(r *http.Request, p string) {
	if major, minor, ok := http.ParseHTTPVersion(p); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
	}
}

// validMethod accepts an HTTP token, as net/http's server would.
func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
