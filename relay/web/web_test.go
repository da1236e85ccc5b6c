package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServesClientAndPages(t *testing.T) {
	h := Handler()
	for path, ctype := range map[string]string{
		"/":                    "text/html",
		"/orders.html":         "text/html",
		"/alerts.html":         "text/html",
		"/chat.html":           "text/html",
		"/hookrelay.js":        "text/javascript",
		"/hookrelay.global.js": "text/javascript",
		"/hookrelay.d.ts":      "application/typescript",
		"/style.css":           "text/css",
	} {
		res, body := get(t, h, path)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || body == "" {
			t.Errorf("%s: %d %q (%d bytes)", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
	}
	if res, _ := get(t, h, "/nope.js"); res.StatusCode != 404 {
		t.Errorf("missing file: %d", res.StatusCode)
	}
}

func TestGlobalScriptHasNoExports(t *testing.T) {
	_, body := get(t, Handler(), "/hookrelay.global.js")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "export ") {
			t.Fatalf("classic script still has %q", line)
		}
	}
	if !strings.Contains(body, "window.hookrelay = { Client, connect,") {
		t.Fatal("window.hookrelay not defined")
	}
}
