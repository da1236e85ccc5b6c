package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/relay/api"
)

// TestSameTokenSameCode: one bad token gets the same catalogue entry
// (code and message) on every entry point that reads a token: the HTTP
// API, SSE, the WebSocket upgrade and the WebSocket "auth" frame (token
// refresh) of a connection opened with a good token. They all go through
// api.Authenticate / api.Verify and api.Classify.
func TestSameTokenSameCode(t *testing.T) {
	key := strings.Repeat("k", 40)
	a, err := New(context.Background(), load(t, config.ModeDev, "--token-key", key), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, cancel, done := run(t, a)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	base := "http://" + ln.Addr().String()

	mint := func(k string, c auth.MintClaims) string {
		t.Helper()
		c.Subject, c.Topics = "alice", []string{"*"}
		if c.Audience == "" {
			c.Audience = config.DefaultTokenAudience
		}
		tok, err := auth.Mint(k, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name, token, code string
	}{
		{"expired", mint(key, auth.MintClaims{TTL: time.Minute, Now: time.Now().Add(-time.Hour)}), apierr.CodeTokenExpired},
		{"bad signature", mint(strings.Repeat("x", 40), auth.MintClaims{}), apierr.CodeUnauthorized},
		{"wrong audience", mint(key, auth.MintClaims{Audience: "someone-else"}), apierr.CodeUnauthorized},
		{"malformed", "not.a.jwt", apierr.CodeUnauthorized},
	}
	good := mint(key, auth.MintClaims{})
	ws := dialWS(t, base, good)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]entry{
				"http": httpCode(t, base+api.TopicsPrefix+"t:1/events", tc.token),
				"sse":  httpCode(t, base+api.SSEPath+"?topic=t:1", tc.token),
				"ws upgrade": func() entry {
					c, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+api.WSPath,
						http.Header{"Authorization": {"Bearer " + tc.token}})
					if err == nil {
						c.Close()
						t.Fatal("upgrade with a bad token succeeded")
					}
					return bodyCode(t, res)
				}(),
				"ws auth frame": authFrameCode(t, ws, "r"+string(rune('0'+i)), tc.token),
			}
			want := got["http"]
			if want.Code != tc.code {
				t.Errorf("http: code %q, want %q", want.Code, tc.code)
			}
			for where, e := range got {
				if e != want {
					t.Errorf("%s answers %+v, the HTTP API %+v", where, e, want)
				}
			}
		})
	}
}

func dialWS(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+api.WSPath,
		http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial with a good token: %v (%v)", err, res)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// entry is what a refusal carries of its catalogue entry.
type entry struct{ Code, Message string }

// httpCode is the catalogue entry of a GET with token as the bearer.
func httpCode(t *testing.T, url, token string) entry {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return bodyCode(t, res)
}

func bodyCode(t *testing.T, res *http.Response) entry {
	t.Helper()
	if res == nil {
		t.Fatal("no response")
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body apierr.Body
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("status %d, body %q: not the catalogue's JSON: %v", res.StatusCode, b, err)
	}
	if body.Error.Status != res.StatusCode {
		t.Errorf("body status %d, HTTP status %d", body.Error.Status, res.StatusCode)
	}
	return entry{body.Error.Code, body.Error.Message}
}

// authFrameCode sends an auth frame with token on c and returns the error
// frame's code and message (empty for an ack), skipping frames of other refs.
func authFrameCode(t *testing.T, c *websocket.Conn, ref, token string) entry {
	t.Helper()
	if err := c.WriteJSON(map[string]string{"op": "auth", "ref": ref, "token": token}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		var f struct{ Op, Ref, Code, Message string }
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("read the answer to auth frame %s: %v", ref, err)
		}
		if f.Ref == ref {
			return entry{f.Code, f.Message}
		}
	}
}
