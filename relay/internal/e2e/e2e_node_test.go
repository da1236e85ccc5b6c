package e2e_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// The Node examples of docs/client.md, run as written with the node binary
// (skipped without one): the publishing function and the resumable
// WebSocket subscriber, across a relay crash.

// lockedBuffer collects a process's output for the test to read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// nodeProc is a running node script.
type nodeProc struct {
	out  *lockedBuffer
	done chan struct{} // closed at exit
	err  error         // exit error, valid after done
}

// startNode runs script (an ES module) with node; the process is killed at
// cleanup. Node 20 needs --experimental-websocket for the global WebSocket
// (Node 22 has it by default and accepts the flag).
func startNode(t *testing.T, node, script string, env ...string) *nodeProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "example.mjs")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	cmd := exec.Command(node, "--experimental-websocket", path)
	cmd.Env = append(os.Environ(), env...)
	p := &nodeProc{out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// Already gone is fine: the script may have finished.
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("node output:\n%s", p.out.String())
		}
	})
	return p
}

// waitOutput waits until out contains s.
func waitOutput(t *testing.T, out *lockedBuffer, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("node never printed %q within %s; output:\n%s", s, timeout, out.String())
		}
		<-tick.C
	}
}

// TestE2ENodeDocExamples runs the Node publishing function and WebSocket
// subscriber of docs/client.md: the subscriber gets what the publishing
// example sent, and every note exactly once across a relay crash.
func TestE2ENodeDocExamples(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the Node examples of docs/client.md are checked where it is")
	}
	srv := startRedis(t)
	r := startDev(t, srv.URL())
	other := startDev(t, srv.URL()) // publishes while r is down
	token := r.Token(t, "node-worker", []string{"order:*", "alerts:*"}, nil)

	// The subscriber example with the three functions it leaves to the reader.
	sub := startNode(t, node, `const handle = (ev) => console.log("EVENT " + ev.topic + " " + (ev.data.title || ev.type));
const resync = (topic) => console.log("RESYNC " + topic);
const mintToken = async () => process.env.TOKEN;
`+docBlock(t, "### Subscribing from Node over WebSocket", "js"), "HOOKRELAY_URL="+r.URL, "TOKEN="+token)

	// The subscriber starts live and says nothing when subscribed: publish a
	// probe every 200 ms until one arrives.
	probe := client.Message{Topic: orderTopic, Type: "probe", Data: json.RawMessage(`{"title":"probe"}`)}
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	for !strings.Contains(sub.out.String(), "EVENT order:1042 probe") {
		if time.Now().After(deadline) {
			t.Fatalf("node subscriber got nothing; output:\n%s", sub.out.String())
		}
		r.Publish(t, probe)
		<-tick.C
	}
	tick.Stop()

	// The publishing example, run as written, against the same relay.
	pub := startNode(t, node, docBlock(t, "### Publishing", "js"), "HOOKRELAY_URL="+r.URL, "HOOKRELAY_API_KEY="+relaytest.APIKey)
	waitOutput(t, sub.out, "EVENT order:1042 Your order is packed", 10*time.Second)
	select {
	case <-pub.done:
		if pub.err != nil {
			t.Errorf("publish example: %v\n%s", pub.err, pub.out.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("publish example still running after its event arrived")
	}

	// Crash and restart the relay while events keep coming through another.
	r.Publish(t, note(0), note(1))
	waitOutput(t, sub.out, "EVENT order:1042 note 1", 5*time.Second)
	r.Kill(t)
	other.Publish(t, note(2), note(3))
	r.Restart(t)
	other.Publish(t, note(4))
	waitOutput(t, sub.out, "EVENT order:1042 note 4", 40*time.Second)

	var got []string
	for _, line := range strings.Split(sub.out.String(), "\n") {
		if title, ok := strings.CutPrefix(line, "EVENT order:1042 "); ok && strings.HasPrefix(title, "note ") {
			got = append(got, title)
		}
	}
	checkNotes(t, got, 5)
	t.Logf("node subscriber output:\n%s", sub.out.String())
}
