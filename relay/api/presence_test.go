package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
	"github.com/hookrelay/hookrelay/infra/bus"
	busmemory "github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/infra/presence/memory"
	"github.com/hookrelay/hookrelay/relay/api"
	relaypresence "github.com/hookrelay/hookrelay/relay/presence"
)

type presenceBody struct {
	Topic     string            `json:"topic"`
	Count     int               `json:"count"`
	CountOnly bool              `json:"count_only"`
	Members   []presence.Member `json:"members"`
	Next      string            `json:"next"`
}

// presenceFixture serves the API with presence on for room:* over a
// memory store in which node n1 holds the given members of room:lobby.
func presenceFixture(t *testing.T, maxMembers int, members ...presence.Member) (*fixture, *memory.Store) {
	t.Helper()
	b := busmemory.New(bus.Options{})
	t.Cleanup(func() { b.Close() })
	store := memory.New(presence.Options{MaxMembers: maxMembers})
	res, err := store.Sync(context.Background(), "n1", []presence.SyncRequest{{Topic: "room:lobby", Join: members}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("seed members: %v %v", err, res[0].Err)
	}
	tr, err := relaypresence.New(store, relaypresence.Options{Topics: []string{"room:*"}, MaxMembers: maxMembers})
	if err != nil {
		t.Fatal(err)
	}
	ta, err := auth.NewTokenAuth(auth.TokenOptions{HS256Keys: []string{tokenKey}, Audience: "hookrelay"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ta.Close)
	f := &fixture{bus: b, cap: &capacity{}}
	f.srv = httptest.NewServer(api.New(api.Deps{Bus: b, Hub: f.cap, Auth: ta, Presence: tr}))
	t.Cleanup(f.srv.Close)
	return f, store
}

func TestPresenceRoute(t *testing.T) {
	f, store := presenceFixture(t, 10,
		presence.Member{Sub: "ann", Name: "Ann"}, presence.Member{Sub: "bob"}, presence.Member{Sub: "cy", Name: "Cy"})
	reader := mint(t, "ann", []string{"room:*"}, nil)

	status, _, body := f.request(t, "GET", "/v1/topics/room:lobby/presence", reader, "", "")
	var got presenceBody
	if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET presence: %d %s", status, body)
	}
	if got.Count != 3 || len(got.Members) != 3 || got.Members[0] != (presence.Member{Sub: "ann", Name: "Ann"}) || got.Next != "" || got.CountOnly {
		t.Errorf("presence = %+v", got)
	}

	var pages []string
	after := ""
	for range 4 {
		q := url.Values{"limit": {"2"}}
		if after != "" {
			q.Set("after", after)
		}
		status, _, body := f.request(t, "GET", "/v1/topics/room:lobby/presence?"+q.Encode(), reader, "", "")
		var p presenceBody
		if status != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("page: %d %s", status, body)
		}
		for _, m := range p.Members {
			pages = append(pages, m.Sub)
		}
		if after = p.Next; after == "" {
			break
		}
	}
	if len(pages) != 3 || pages[0] != "ann" || pages[2] != "cy" {
		t.Errorf("pages of 2 gave %v, want ann bob cy", pages)
	}

	for _, tc := range []struct {
		name, path, bearer string
		status             int
		code               string
	}{
		{"no token", "/v1/topics/room:lobby/presence", "", 401, "unauthorized"},
		{"no grant for the topic", "/v1/topics/room:lobby/presence", mint(t, "eve", []string{"room:other"}, nil), 403, "forbidden"},
		{"presence off for the topic", "/v1/topics/order:1/presence", mint(t, "eve", []string{"*"}, nil), 404, "not_found"},
		{"bad topic", "/v1/topics/room:a%20b/presence", reader, 400, "bad_topic"},
		{"bad limit", "/v1/topics/room:lobby/presence?limit=0", reader, 400, "bad_request"},
		{"bad after", "/v1/topics/room:lobby/presence?after=%00", reader, 400, "bad_request"},
	} {
		status, _, body := f.request(t, "GET", tc.path, tc.bearer, "", "")
		if code, _ := errorCode(t, body); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	if status, _, _ := f.request(t, "POST", "/v1/topics/room:lobby/presence", reader, "", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("POST presence: %d, want 405", status)
	}

	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	status, hdr, body := f.request(t, "GET", "/v1/topics/room:lobby/presence", reader, "", "")
	if code, _ := errorCode(t, body); status != 503 || code != "bus_unavailable" || hdr.Get("Retry-After") == "" {
		t.Errorf("store down: %d %s (Retry-After %q), want 503 bus_unavailable with Retry-After", status, body, hdr.Get("Retry-After"))
	}
}

func TestPresenceRouteCountOnly(t *testing.T) {
	f, _ := presenceFixture(t, 2, presence.Member{Sub: "a"}, presence.Member{Sub: "b"}, presence.Member{Sub: "c"})
	status, _, body := f.request(t, "GET", "/v1/topics/room:lobby/presence", mint(t, "a", []string{"room:lobby"}, nil), "", "")
	var got presenceBody
	if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET presence: %d %s", status, body)
	}
	if !got.CountOnly || got.Count != 3 || got.Members == nil || len(got.Members) != 0 {
		t.Errorf("count-only room: %s, want count 3, count_only and an empty list", body)
	}
}
