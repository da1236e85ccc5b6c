package redis

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/event"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/infra/testkit/tcpproxy"
)

// node is a redis-server started by startNode.
type node struct {
	addr string
	srv  *redistest.Server
}

func (n *node) kill() { n.srv.Kill() }

func (n *node) client() *goredis.Client { return goredis.NewClient(&goredis.Options{Addr: n.addr}) }

// startNode starts redis-server with extra arguments and environment.
func startNode(t *testing.T, env []string, args ...string) *node {
	t.Helper()
	srv := redistest.StartWith(t, env, args...)
	return &node{addr: srv.Addr(), srv: srv}
}

// replOffset reads master_repl_offset (primary) or slave_repl_offset.
func replOffset(t *testing.T, n *node, field string) int64 {
	t.Helper()
	c := n.client()
	defer c.Close()
	info, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	return infoField(info, field)
}

// failover is the topology of the failover tests: a primary, a replica
// whose replication link runs through a proxy that can hold it back, and
// the endpoint proxy every client uses, switched to the replica when it is
// promoted.
type failover struct {
	t        *testing.T
	primary  *node
	replica  *node
	link     *tcpproxy.Proxy // replica -> primary replication link
	endpoint *tcpproxy.Proxy // clients -> current primary
}

// startFailover starts the topology; behind > 0 runs the replica with its
// wall clock that far behind (clockBehind).
func startFailover(t *testing.T, behind time.Duration) *failover {
	t.Helper()
	var env []string
	if behind > 0 {
		env = clockBehind(t, behind)
	}
	f := &failover{t: t, primary: startNode(t, nil)}
	f.link = tcpproxy.New(t, f.primary.addr)
	host, port, _ := strings.Cut(f.link.Addr, ":")
	f.replica = startNode(t, env, "--replicaof", host, port)
	f.endpoint = tcpproxy.New(t, f.primary.addr)
	if behind > 0 {
		c := f.replica.client()
		defer c.Close()
		now, err := c.Time(context.Background()).Result()
		if err != nil || time.Since(now) < behind-time.Minute {
			t.Fatalf("replica clock %v (err %v), want about %v behind", now, err, behind)
		}
	}
	waitFor(t, "replica in sync", func() bool {
		c := f.replica.client()
		defer c.Close()
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return f
}

// clockBehind builds testdata/clockbehind.c, a preload shim that moves a
// process's wall clock back, and returns the environment that applies it.
// Debian's libfaketime would be the tool, but preloaded into redis-server
// it recurses into jemalloc at start and the server never comes up
// (libfaketime issue #130).
func clockBehind(t *testing.T, behind time.Duration) []string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed: cannot build the clock shim")
	}
	so := filepath.Join(t.TempDir(), "clockbehind.so")
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-o", so, "testdata/clockbehind.c").CombinedOutput(); err != nil {
		t.Fatalf("build clock shim: %v\n%s", err, out)
	}
	return []string{"LD_PRELOAD=" + so, "CLOCK_BEHIND_SECONDS=" + strconv.Itoa(int(behind.Seconds()))}
}

// replicated waits until the replica has everything the primary wrote.
func (f *failover) replicated() {
	f.t.Helper()
	want := replOffset(f.t, f.primary, "master_repl_offset")
	waitFor(f.t, "replica caught up", func() bool {
		return replOffset(f.t, f.replica, "slave_repl_offset") >= want
	})
}

// promote kills the primary with the link held back, promotes the replica
// and points the endpoint at it.
func (f *failover) promote() {
	f.t.Helper()
	f.primary.kill()
	f.link.Close()
	c := f.replica.client()
	defer c.Close()
	if err := c.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err(); err != nil {
		f.t.Fatalf("REPLICAOF NO ONE: %v", err)
	}
	// Clients of a moved endpoint see new connections land on the replica
	// and the open ones cut.
	f.endpoint.SetTarget(f.replica.addr)
	f.endpoint.CloseConns()
}

func (f *failover) bus(mod func(*Options)) *Bus {
	f.t.Helper()
	return newTestBusURL(f.t, "redis://"+f.endpoint.Addr, mod)
}

// publishUntilUp retries one publish until the bus answers, and returns the
// event and how long publishing was unavailable.
func publishUntilUp(t *testing.T, b *Bus, m bus.Message, since time.Time) (event.Event, time.Duration) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out, err := b.Publish(ctx, []bus.Message{m})
		cancel()
		if err == nil {
			return out[0].Event, time.Since(since)
		}
		if !errors.Is(err, bus.ErrUnavailable) {
			t.Fatalf("publish after failover: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishing still unavailable 30s after the failover: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // a sender's retry pause
	}
}

// TestFailoverUnreplicatedEventsTruncated: events the old primary accepted
// but never replicated are gone after the replica is promoted (its clock
// minutes behind); the subscriber, who saw them live, gets an explicit
// truncated signal before the first event of the new primary, ids keep
// increasing, and a client resuming from the last lost id is told too.
func TestFailoverUnreplicatedEventsTruncated(t *testing.T) {
	f := startFailover(t, 5*time.Minute)
	b := f.bus(nil)
	rec := newRecorder()
	sub, err := b.Subscribe(context.Background(), []string{"fo:1"}, event.Cursor{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	kept := publishN(t, b, "fo:1", 0, 5)
	f.replicated()
	f.link.Pause()
	lost := publishN(t, b, "fo:1", 5, 3) // acknowledged, never replicated
	rec.waitFor(t, 8, 10*time.Second)

	killed := time.Now()
	f.promote()
	first, down := publishUntilUp(t, b, msg("fo:1", 8), killed)
	t.Logf("publishing unavailable for %v after the primary was killed", down.Round(time.Millisecond))
	after := append([]string{first.ID}, publishN(t, b, "fo:1", 9, 4)...)
	rec.waitFor(t, 13, 20*time.Second)

	_, events := rec.snapshot()
	var want []string
	for _, id := range append(append([]string{}, kept...), lost...) {
		want = append(want, "fo:1 "+id)
	}
	want = append(want, "truncated fo:1")
	for _, id := range after {
		want = append(want, "fo:1 "+id)
	}
	if strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Fatalf("subscriber saw\n%s\nwant\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}
	lastLost, _ := event.ParseID(lost[len(lost)-1])
	firstNew, _ := event.ParseID(first.ID)
	if firstNew.Compare(lastLost) <= 0 {
		t.Fatalf("id went backwards across the failover: %s after %s", firstNew, lastLost)
	}
	page, err := b.History(context.Background(), "fo:1", lost[len(lost)-1], 100)
	if err != nil {
		t.Fatal(err)
	}
	if !page.Truncated || len(page.Events) != len(after) {
		t.Fatalf("history after the last lost id: truncated=%v, %d events; want truncated and %d", page.Truncated, len(page.Events), len(after))
	}
	// A reader away during the failover resumes from before the lost
	// events: what the promoted replica kept, then truncated, then the new
	// events, never the kept ones straight into the new ones.
	if got, want := historyWalk(t, b, "fo:1", kept[2]), append(append([]string{}, kept[3:]...), append([]string{"truncated"}, after...)...); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("history walk from before the lost events:\n%v\nwant\n%v", got, want)
	}
}

// historyWalk pages History from after to the end, as the relay's replay
// does: ids, and "truncated" where a page says so.
func historyWalk(t *testing.T, b *Bus, topic, after string) []string {
	t.Helper()
	var out []string
	for range 100 {
		page, err := b.History(context.Background(), topic, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if page.Truncated {
			out = append(out, "truncated")
		}
		for _, d := range page.Events {
			out = append(out, d.ID.String())
			after = d.ID.String()
		}
		if !page.More && len(page.Events) < 100 {
			return out
		}
	}
	t.Fatalf("history of %s did not end within 100 pages", topic)
	return nil
}
