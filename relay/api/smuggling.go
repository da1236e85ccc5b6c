package api

import "net/http"

// closeChunked answers a request that came with a Transfer-Encoding on a
// connection that is closed afterwards. RFC 9112 6.1 requires it when a
// request has both Transfer-Encoding and Content-Length (net/http reads
// the chunked body, drops the Content-Length and keeps the connection):
// a front end that framed the request by its Content-Length would pass
// the rest of the body on as a second, smuggled request. Real clients of
// the API send Content-Length, so closing after every chunked request
// costs nothing.
func closeChunked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
