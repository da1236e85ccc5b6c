package redis

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/testkit/testlog"
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
	n := primaries * (1 + replicas)
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	dir := t.TempDir()
	addrs = make([]string, n)
	procs = make([]*exec.Cmd, n)
	for i := range addrs {
		port, busPort := freeTCPPort(t), freeTCPPort(t)
		nodeDir := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(busPort),
			"--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0", "--save", "", "--appendonly", "no", "--dir", nodeDir,
			"--protected-mode", "no", "--loglevel", "warning")
		log := testlog.File(t, "redis-server cluster node "+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill() // the test is over; its exit status says nothing
			_ = cmd.Wait()
		})
		addrs[i] = "127.0.0.1:" + strconv.Itoa(port)
		procs[i] = cmd
	}
	ctx := context.Background()
	for _, a := range addrs {
		waitFor(t, "node "+a+" up", func() bool {
			c := goredis.NewClient(&goredis.Options{Addr: a})
			defer c.Close()
			return c.Ping(ctx).Err() == nil
		})
	}
	if n == 1 {
		// redis-cli creates clusters of three primaries or more; one node
		// takes every slot by itself.
		c := goredis.NewClient(&goredis.Options{Addr: addrs[0]})
		err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err()
		_ = c.Close() // the ADDSLOTSRANGE error is the one worth reporting
		if err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
		}
	} else {
		args := append([]string{"--cluster", "create"}, addrs...)
		out, err := exec.Command("redis-cli", append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
		}
	}
	for _, a := range addrs {
		waitFor(t, "cluster ok on "+a, func() bool {
			c := goredis.NewClient(&goredis.Options{Addr: a})
			defer c.Close()
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		waitFor(t, "replication link up on "+a, func() bool {
			c := goredis.NewClient(&goredis.Options{Addr: a})
			defer c.Close()
			info, err := c.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
		})
	}
	return addrs, procs
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

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
