package chaos

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// replicaServer is a redis-server replicating from primary (host:port).
type replicaServer struct {
	addr string
}

// startReplica starts a redis-server with --replicaof primary on a free
// port and waits until its replication link is up.
func startReplica(t *testing.T, primary string) *replicaServer {
	t.Helper()
	host, port, _ := strings.Cut(primary, ":")
	r := &replicaServer{addr: redistest.StartWith(t, nil, "--replicaof", host, port).Addr()}
	waitFor(t, "replica "+r.addr+" in sync", 20*time.Second, func() bool {
		info, err := redisCmd(r.addr, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// linkedReplica is a replica of the run's Redis whose replication link
// goes through a FaultProxy, so a test can hold back what it replicates.
type linkedReplica struct {
	link    *FaultProxy
	replica *replicaServer
}

func startLinkedReplica(t *testing.T, r *run) *linkedReplica {
	t.Helper()
	link, err := NewFaultProxy(r.c.redis.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	return &linkedReplica{link: link, replica: startReplica(t, link.Addr)}
}

// failover kills the primary, drops what the link still holds, promotes
// the replica and points the relays' Redis endpoint at it (cutting their
// connections), as an ElastiCache failover with its DNS switch does.
func (l *linkedReplica) failover(t *testing.T, r *run) {
	t.Helper()
	r.c.redis.Kill()
	l.link.Close() // drops what a paused link holds
	if _, err := redisCmd(l.replica.addr, "REPLICAOF", "NO", "ONE"); err != nil {
		t.Errorf("REPLICAOF NO ONE: %v", err)
	}
	r.c.redisProxy.SetTarget(l.replica.addr)
	r.c.redisProxy.Cut()
}

// redisCmd sends one inline command and returns the reply's text.
func redisCmd(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second)) // a failed deadline shows up as a read error
	if _, err := c.Write([]byte(strings.Join(args, " ") + "\r\n")); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "$") {
		return line, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 {
		return line, err
	}
	buf := make([]byte, n+2)
	_, err = io.ReadFull(rd, buf)
	return string(buf), err
}

// TestChaosRedisFailover: the relays reach Redis through an endpoint proxy
// (the ElastiCache primary endpoint) and publish durably
// (HOOKRELAY_REDIS_WAIT_REPLICAS=1). Mid-stream the replication link is
// held back, so publishes are answered 503 and retried; the primary is
// killed, its replica promoted, the endpoint switched to it and a new
// replica attached. Every event acknowledged with a 2xx reaches every
// subscriber; one the old primary delivered live but never replicated
// (its publish was in flight, answered 503) may come again after a
// truncated signal, stored anew by the sender's retry.
func TestChaosRedisFailover(t *testing.T) {
	r := newRun(t, clusterOpts{redisProxy: true, env: []string{
		"HOOKRELAY_REDIS_WAIT_REPLICAS=1", "HOOKRELAY_REDIS_WAIT_TIMEOUT=300ms"}})
	lr := startLinkedReplica(t, r)
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.sc.publishFor *= 2 // publishing resumes once a new replica has synced
	redeliverable := make(seqSet)
	start := time.Now()
	var down time.Time
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		lr.link.Pause()
		redeliverable.add(r.pub.inflightNow())
		at(start, r.sc.publishFor/4+500*time.Millisecond)
		redeliverable.add(r.pub.inflightNow())
		down = time.Now()
		lr.failover(t, r)
		redeliverable.add(r.pub.inflightNow())
		startReplica(t, lr.replica.addr)
	})
	t.Logf("redis-failover: new replica in sync %s after the primary was killed", time.Since(down).Round(time.Millisecond))
	r.finish("redis-failover", checkOpts{redeliverable: redeliverable})
	if r.pub.unavailable.Load() == 0 {
		t.Error("no publish was answered 503 while the replication link was held back")
	}
	t.Logf("redis-failover: relays counted %v not replicated, %v truncations, %v resubscribes",
		r.c.metricSum("hookrelay_bus_not_replicated_total"), r.c.metricSum("hookrelay_bus_truncations_total"),
		r.c.metricSum("hookrelay_bus_resubscribes_total"))
}
