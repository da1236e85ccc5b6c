package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// Presence over the real transports of a real relay (relay dev, memory
// bus): the frame formats of docs/protocol.md, join on subscribe, leave on
// WS unsubscribe and on disconnect.

// presenceFrame is a presence update as the protocol documents it.
type presenceFrame struct {
	Op        string `json:"op"`
	Topic     string `json:"topic"`
	Count     int    `json:"count"`
	CountOnly bool   `json:"count_only"`
	Members   []struct {
		Sub  string `json:"sub"`
		Name string `json:"name"`
	} `json:"members"`
	Join []struct {
		Sub  string `json:"sub"`
		Name string `json:"name"`
	} `json:"join"`
	Leave []string `json:"leave"`
}

// sseStream reads one SSE stream's presence frames into a channel.
func sseStream(t *testing.T, rawURL string) <-chan presenceFrame {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", rawURL, resp.StatusCode)
	}
	out := make(chan presenceFrame, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: ") && event == "presence":
				t.Errorf("a presence frame carries an id line (it would move the browser's Last-Event-ID): %s", line)
			case strings.HasPrefix(line, "data: ") && event == "presence":
				var f presenceFrame
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &f); err != nil {
					t.Errorf("presence data %q: %v", line, err)
				}
				out <- f
			case line == "":
				event = ""
			}
		}
	}()
	return out
}

// nextFrame waits for the next presence frame.
func nextFrame(t *testing.T, what string, ch <-chan presenceFrame) presenceFrame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatalf("%s: stream ended", what)
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no presence frame within 10s", what)
	}
	return presenceFrame{}
}

// wsPresence reads a WebSocket's frames, passing presence ones on.
func wsPresence(t *testing.T, conn *websocket.Conn) (<-chan presenceFrame, <-chan map[string]any) {
	pres, other := make(chan presenceFrame, 64), make(chan map[string]any, 64)
	go func() {
		defer close(pres)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f map[string]any
			if err := json.Unmarshal(b, &f); err != nil {
				t.Errorf("frame %s: %v", b, err)
				return
			}
			if f["op"] != "presence" {
				other <- f
				continue
			}
			var p presenceFrame
			if err := json.Unmarshal(b, &p); err != nil {
				t.Errorf("presence frame %s: %v", b, err)
			}
			pres <- p
		}
	}()
	return pres, other
}

func TestPresenceOverSSEAndWS(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", TokenKey: relaytest.TokenKey,
		// Heartbeats are 50 s: an idle SSE member's leave must come
		// from the relay seeing its peer hang up (relay/sse hangup_linux.go),
		// not from the next heartbeat write failing.
		Env: []string{"HOOKRELAY_PRESENCE_INTERVAL=100ms", "HOOKRELAY_HEARTBEAT=50s"}})
	const room = "room:proto"
	alice := r.Token(t, "alice", []string{"room:*"}, nil)
	bob := r.Token(t, "bob", []string{"room:*"}, nil)

	q := url.Values{"topic": {room}, "presence": {"1"}, "token": {alice}}
	sse := sseStream(t, r.URL+"/v1/sse?"+q.Encode())
	snap := nextFrame(t, "alice's snapshot", sse)
	if snap.Topic != room || snap.Count != 1 || len(snap.Members) != 1 || snap.Members[0].Sub != "alice" {
		t.Fatalf("alice's first frame = %+v, want a snapshot with herself", snap)
	}

	conn, resp, err := websocket.DefaultDialer.Dial(strings.Replace(r.URL, "http", "ws", 1)+"/v1/ws?token="+bob, nil)
	if err != nil {
		t.Fatalf("dial ws: %v (%v)", err, resp)
	}
	defer conn.Close()
	pres, other := wsPresence(t, conn)
	if err := conn.WriteJSON(map[string]any{"op": "subscribe", "ref": "1", "topics": []string{room}, "presence": true}); err != nil {
		t.Fatal(err)
	}
	if f := <-other; f["op"] != "subscribed" {
		t.Fatalf("subscribe answered %v", f)
	}
	ws := nextFrame(t, "bob's snapshot", pres)
	if ws.Op != "presence" || ws.Count != 2 || len(ws.Members) != 2 {
		t.Errorf("bob's first frame = %+v, want op presence with alice and bob", ws)
	}
	up := nextFrame(t, "alice sees bob join", sse)
	if up.Count != 2 || len(up.Join) != 1 || up.Join[0].Sub != "bob" || len(up.Leave) != 0 || up.Members != nil {
		t.Errorf("alice's update = %+v, want bob joining", up)
	}

	if err := conn.WriteJSON(map[string]any{"op": "unsubscribe", "ref": "2", "topics": []string{room}}); err != nil {
		t.Fatal(err)
	}
	up = nextFrame(t, "alice sees bob leave", sse)
	if up.Count != 1 || len(up.Leave) != 1 || up.Leave[0] != "bob" {
		t.Errorf("after bob unsubscribed alice got %+v, want bob leaving", up)
	}

	// A subscriber who did not ask for presence still counts, and leaves
	// when its connection goes.
	carol := r.Token(t, "carol", []string{"room:*"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v1/sse?topic="+room+"&token="+carol, nil)
	if err != nil {
		t.Fatal(err)
	}
	cresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	up = nextFrame(t, "alice sees carol join", sse)
	if len(up.Join) != 1 || up.Join[0].Sub != "carol" {
		t.Errorf("alice got %+v, want carol joining", up)
	}
	cancel()
	cresp.Body.Close()
	closed := time.Now()
	up = nextFrame(t, "alice sees carol leave", sse)
	if len(up.Leave) != 1 || up.Leave[0] != "carol" {
		t.Errorf("alice got %+v, want carol leaving", up)
	}
	t.Logf("carol's SSE stream closed -> alice saw her leave: %v (interval 100ms, heartbeat 50s)", time.Since(closed))

	status, _, body := call(t, "GET", r.URL+"/v1/sse?topic="+room+"&presence=yes&token="+alice, "", "", "")
	if status != http.StatusBadRequest || errCode(t, body) != "bad_request" {
		t.Errorf("?presence=yes: %d %s, want 400 bad_request", status, body)
	}
}
