package redis

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestClusterConformance runs the conformance suite on a three-node Redis
// Cluster: every script's keys share their topic's slot, and classic pub/sub
// reaches a subscriber connected to any node.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	addrs := startCluster(t, 3)
	url := "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	bustest.Run(t, func(t *testing.T, opts bus.Options) bus.Bus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b, err := New(ctx, Options{
			URL:     url,
			Cluster: true,
			Prefix:  "c" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()),
			Bus:     opts,
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

// startCluster starts n redis-server nodes in cluster mode, joins them with
// redis-cli --cluster create and waits until every node reports ok.
func startCluster(t *testing.T, n int) []string {
	t.Helper()
	addrs, _ := startClusterReplicas(t, n, 0)
	return addrs
}

// startClusterReplicas starts primaries*(1+replicas) nodes; redis-cli makes
// the first primaries of addrs the primaries. procs are the node processes
// in addrs order, for killing one.
func startClusterReplicas(t *testing.T, primaries, replicas int) (addrs []string, procs []*exec.Cmd) {
	t.Helper()
	c := redistest.StartCluster(t, primaries, replicas)
	for i := range c.Addrs {
		procs = append(procs, c.Proc(i))
	}
	return c.Addrs, procs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling external processes
	}
}
