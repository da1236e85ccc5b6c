package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/relay/api"
)

// TestSmuggledRequestNotServed: a publish with both Content-Length and
// Transfer-Encoding is answered (by its chunked body) and the connection
// is closed, so a request hidden after it is never served.
func TestSmuggledRequestNotServed(t *testing.T) {
	b := memory.New(bus.Options{})
	defer b.Close()
	srv := httptest.NewServer(api.New(api.Deps{Bus: b, Auth: auth.AllowAll{}}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	body := `{"topic":"order:1","type":"x"}`
	raw := "POST " + api.PublishPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) +
		"GET " + api.HealthzPath + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("first answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	if second, err := http.ReadResponse(br, nil); err == nil {
		t.Fatalf("the smuggled request was answered: %d", second.StatusCode)
	}
}

// TestHooksOtherMethods: GET /hooks/{source} reaches the webhook handler
// (its 405 with Allow: POST), not the catch-all web handler.
func TestHooksOtherMethods(t *testing.T) {
	b := memory.New(bus.Options{})
	defer b.Close()
	hooks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
	})
	web := http.NotFoundHandler()
	h := api.New(api.Deps{Bus: b, Auth: auth.AllowAll{}, Hooks: hooks, Web: web})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, api.HooksPrefix+"shop", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s /hooks/shop: %d %v", m, rec.Code, rec.Header())
		}
	}
}
