package redistest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/testkit/testlog"
)

// Cluster is a Redis Cluster of redis-server children (cluster-enabled,
// joined with redis-cli --cluster create), killed when the test ends.
type Cluster struct {
	// Addrs are the nodes' host:port; redis-cli makes the first
	// primaries of them the primaries, the rest their replicas.
	Addrs []string
	procs []*exec.Cmd
}

// StartCluster starts primaries*(1+replicas) nodes and waits until every
// node reports cluster_state:ok and every replica's link is up. Failover
// is quick (cluster-node-timeout 2 s) and any replica may be promoted
// (cluster-replica-validity-factor 0). One primary takes every slot with
// CLUSTER ADDSLOTSRANGE (redis-cli creates three primaries or more).
func StartCluster(t testing.TB, primaries, replicas int) *Cluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: run `make deps` (apt-get install -y redis-server)", bin)
		}
	}
	n := primaries * (1 + replicas)
	c := &Cluster{Addrs: make([]string, n), procs: make([]*exec.Cmd, n)}
	dir := t.TempDir()
	for i := range n {
		port, busPort := freePort(t), freePort(t)
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
		c.Addrs[i] = "127.0.0.1:" + strconv.Itoa(port)
		c.procs[i] = cmd
	}
	for _, a := range c.Addrs {
		waitNode(t, "node "+a+" up", a, func(ctx context.Context, cl *goredis.Client) bool { return cl.Ping(ctx).Err() == nil })
	}
	c.create(t, primaries, replicas)
	for _, a := range c.Addrs {
		waitNode(t, "cluster ok on "+a, a, func(ctx context.Context, cl *goredis.Client) bool {
			info, err := cl.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		waitNode(t, "replication link up on "+a, a, func(ctx context.Context, cl *goredis.Client) bool {
			info, err := cl.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
		})
	}
	return c
}

func (c *Cluster) create(t testing.TB, primaries, replicas int) {
	t.Helper()
	if len(c.Addrs) == 1 {
		cl := goredis.NewClient(&goredis.Options{Addr: c.Addrs[0]})
		err := cl.Do(context.Background(), "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err()
		_ = cl.Close() // the ADDSLOTSRANGE error is the one worth reporting
		if err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
		}
		return
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	out, err := exec.Command("redis-cli", append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create (%d primaries): %v\n%s", primaries, err, out)
	}
}

// URL is the redis:// URL naming every node (the bus's cluster form).
func (c *Cluster) URL() string {
	return "redis://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
}

// Kill SIGKILLs node i and waits for it to exit.
func (c *Cluster) Kill(i int) {
	_ = c.procs[i].Process.Kill() // may have exited: Wait reports either way
	_ = c.procs[i].Wait()         // a killed server's exit status says nothing
}

// Proc is node i's process.
func (c *Cluster) Proc(i int) *exec.Cmd { return c.procs[i] }

// waitNode polls cond on a client of addr until it holds (20 s at most).
func waitNode(t testing.TB, what, addr string, cond func(context.Context, *goredis.Client) bool) {
	t.Helper()
	cl := goredis.NewClient(&goredis.Options{Addr: addr})
	defer cl.Close()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := cond(ctx, cl)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		<-tick.C
	}
}
