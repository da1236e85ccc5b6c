package chaos

import (
	"context"
	"os"
	"testing"
	"time"
)

// giveUp bounds how long one event is retried by its sender before the
// scenario fails (a webhook provider retries for hours; a test cannot).
const giveUp = 45 * time.Second

// run is the shape of every scenario: subscribers open, the publisher
// publishes at the steady rate for sc.publishFor while fault runs (it
// gets the time the publishing phase started), then every subscriber
// must catch up and the streams are checked.
type run struct {
	t   *testing.T
	sc  scale
	c   *cluster
	f   *fleet
	pub *publisher
}

func newRun(t *testing.T, o clusterOpts) *run {
	t.Helper()
	sc := scaleFor(t)
	c := startCluster(t, o)
	topics := make([]string, sc.topics)
	for i := range topics {
		topics[i] = topicName(i)
	}
	return &run{t: t, sc: sc, c: c, pub: newPublisher(c, topics)}
}

// publish runs the steady publisher while fault runs in the test
// goroutine: for sc.publishFor, or until fault returns if that takes
// longer (a fault that drives until its condition holds keeps the load on
// meanwhile). It returns when both are done.
func (r *run) publish(fault func()) {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	defer func() { r.t.Logf("published for %s", time.Since(start).Round(time.Millisecond)) }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.pub.run(ctx, r.sc.rate, giveUp)
	}()
	if fault != nil {
		fault()
	}
	at(start, r.sc.publishFor)
	cancel()
	<-done
}

// at waits until d after start (a point on the scenario's timeline).
func at(start time.Time, d time.Duration) {
	if w := time.Until(start.Add(d)); w > 0 {
		t := time.NewTimer(w)
		<-t.C
	}
}

// finish waits for delivery, checks and reports.
func (r *run) finish(name string, o checkOpts) *tally {
	r.t.Helper()
	start := time.Now()
	r.f.waitCaughtUp(r.t, r.pub, r.sc.settle)
	r.t.Logf("%s: caught up %s after the last publish", name, time.Since(start).Round(time.Millisecond))
	tl := verify(r.f, r.pub, o)
	tl.report(r.t, name, r.f, r.pub)
	return tl
}

// TestChaosRelayKill: one of three relays is SIGKILLed mid-stream; its
// subscribers reconnect through the LB to the other two and resume from
// their cursors; publishes that hit the dead relay are retried. Later the
// relay comes back.
func TestChaosRelayKill(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	start := time.Now()
	r.publish(func() {
		at(start, r.sc.publishFor/3)
		r.c.relays[0].Kill(t)
		// The LB spreads subscribers over all three relays, so the kill
		// hits some; publishing goes on until one of them is back.
		waitFor(t, "a subscriber of the killed relay reconnected", driveTimeout, func() bool { return r.f.reconnected() > 0 })
		at(start, 2*r.sc.publishFor/3)
		r.c.restartRelay(0)
	})
	r.finish("relay-kill", checkOpts{})
}

// TestChaosRelayDrain: one relay gets SIGTERM mid-stream: /readyz fails,
// the LB stops sending it connections, it closes its clients in staggered
// batches (SSE close event 1012, WS close 1012) and exits 0; they resume on
// the others.
func TestChaosRelayDrain(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	start := time.Now()
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		if code := r.c.relays[0].Stop(t); code != 0 {
			t.Errorf("drained relay exited %d", code)
		}
		waitFor(t, "a subscriber saw the drain's 1012 close", driveTimeout, func() bool { return r.f.closeCodes()[1012] > 0 })
		r.c.restartRelay(0)
	})
	r.finish("relay-drain", checkOpts{})
}

// TestChaosRollingRestart: every relay in turn is drained and started
// again (an ECS deployment), while events flow.
func TestChaosRollingRestart(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.sc.publishFor *= 2 // three drains take a while; keep publishing through all of them
	r.publish(func() {
		for i := range r.c.relays {
			if code := r.c.relays[i].Stop(t); code != 0 {
				t.Errorf("relay %d exited %d", i, code)
			}
			r.c.restartRelay(i)
		}
	})
	r.finish("rolling-restart", checkOpts{})
}

// TestChaosBurst: a burst of 10x the steady rate in the middle of steady
// publishing.
func TestChaosBurst(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	start := time.Now()
	r.publish(func() {
		at(start, r.sc.publishFor/3)
		// 10x the steady rate for one second, on top of the steady load:
		// batches of 10 at the steady tick of each topic.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		before := r.pub.total()
		r.pub.runBatches(ctx, 10*r.sc.rate, 10, giveUp)
		took := time.Since(start.Add(r.sc.publishFor / 3))
		n := r.pub.total() - before
		t.Logf("CHAOS burst offered %d/s (10x) for 1s: %d events accepted in %s = %.0f/s, steady load included", 10*r.sc.rate, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	})
	r.finish("burst-10x", checkOpts{})
}

// TestChaosDuplicateWebhooks: every webhook delivery is sent twice; the
// second answer is the original id with duplicate: true and subscribers
// see each event once.
func TestChaosDuplicateWebhooks(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.pub.dupWebhooks = true
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.publish(nil)
	r.finish("dup-webhooks", checkOpts{})
	// Every webhook delivery was redelivered once.
	if got, want := r.pub.dupAnswers.Load(), int64(r.pub.webhooks()); got < want {
		t.Errorf("duplicate answers %d, want >= %d", got, want)
	}
}

// TestChaosRedisRestart: redis-server is killed mid-stream and a fresh,
// empty one starts on the same port 1.5 s later (it runs with --save "": the streams
// and the dedup keys are gone). Publishes during the outage are answered
// 503 and retried. A quarter of the subscribers went away before the
// crash and come back right after the restart, when their cursors point
// beyond the new, empty streams.
//
// Guarantee checked: no accepted event is lost silently and none is
// delivered twice, except where Redis lost data: a subscriber whose stream
// cannot continue gets a truncated signal first (events skipped after it
// are counted), and an event whose publish was in flight at the crash may
// be stored again by the sender's retry, after that signal (its dedup key
// died with Redis).
func TestChaosRedisRestart(t *testing.T) {
	r := newRun(t, clusterOpts{})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	away := r.f.subs[:len(r.f.subs)/4]
	r.sc.publishFor *= 2 // publishing resumes after the outage and backoff
	start := time.Now()
	redeliverable := make(seqSet)
	r.publish(func() {
		at(start, r.sc.publishFor/8)
		waitFor(t, "every subscriber about to go away has seen an event of each topic", driveTimeout, func() bool { return haveCursors(away) })
		for _, s := range away {
			s.stop()
		}
		// Redis must lose events they have not seen, or there is nothing
		// for their truncated signal to cover.
		waitFor(t, "an event accepted on a topic of every away subscriber after it stopped", driveTimeout, func() bool { return missedSome(r.pub, away) })
		at(start, r.sc.publishFor/4)
		redeliverable.add(r.pub.inflightNow())
		unavailable := r.pub.unavailable.Load()
		r.c.redis.Kill()
		redeliverable.add(r.pub.inflightNow())
		crash := time.Now()
		waitFor(t, "a publish answered 503 while Redis is down", driveTimeout, func() bool { return r.pub.unavailable.Load() > unavailable })
		at(crash, 1500*time.Millisecond)
		r.c.redis.Restart()
		for _, s := range away {
			s.start()
		}
	})
	tl := r.finish("redis-restart", checkOpts{redeliverable: redeliverable})
	t.Logf("redis-restart: relays counted %v bus truncations, %v resubscribes", r.c.metricSum("hookrelay_bus_truncations_total"), r.c.metricSum("hookrelay_bus_resubscribes_total"))
	if tl.truncLost == 0 {
		t.Error("the subscribers away during the crash missed events Redis lost, but nothing was counted as skipped after a truncated signal")
	}
}

// TestChaosStaleCursor: a quarter of the subscribers go away while each
// topic gets far more events than HOOKRELAY_HISTORY_LEN keeps, then come
// back with their old cursors: each must get an explicit truncated signal
// for the topics trimmed past its cursor, then the oldest kept event and
// everything after it: never a silent gap.
//
// The away subscribers stay away until the relays' history API says every
// topic they follow was trimmed past their cursors (the test publishes
// batches until then), so each of their streams must show the signal.
func TestChaosStaleCursor(t *testing.T) {
	r := newRun(t, clusterOpts{env: []string{"HOOKRELAY_HISTORY_LEN=20"}})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	away := r.f.subs[:len(r.f.subs)/4]
	start := time.Now()
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		waitFor(t, "every subscriber about to go away has seen an event of each topic", driveTimeout, func() bool { return haveCursors(away) })
		for _, s := range away {
			s.stop()
		}
		r.trimPast(newestSeen(away))
		for _, s := range away {
			s.start()
		}
	})
	tl := r.finish("stale-cursor", checkOpts{})
	if missing := missingTruncSignals(away); len(missing) > 0 {
		t.Errorf("%d streams resumed past trimmed history without a truncated signal: %v", len(missing), missing)
	}
	if tl.truncLost == 0 {
		t.Errorf("history was trimmed past every away cursor, yet no event was counted as skipped after a truncated signal")
	}
}

// TestChaosRedisStall: the relays reach Redis through a proxy that stops
// forwarding for 3 s (a partition: connections stay open, only timeouts
// notice), then cuts every connection and lets traffic through again.
// Publishes meanwhile time out or are answered 503 and are retried with
// the same keys; subscriptions resume from their streams.
func TestChaosRedisStall(t *testing.T) {
	r := newRun(t, clusterOpts{redisProxy: true})
	r.f = startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.sc.publishFor *= 2
	start := time.Now()
	r.publish(func() {
		at(start, r.sc.publishFor/4)
		retries := r.pub.retries.Load()
		r.c.redisProxy.Pause()
		paused := time.Now()
		// A publish sent into the stall times out (or is answered 503)
		// and is retried; the stall lasts until that happened.
		waitFor(t, "a publish retried during the stall", driveTimeout, func() bool { return r.pub.retries.Load() > retries })
		at(paused, 3*time.Second)
		r.c.redisProxy.Cut()
		r.c.redisProxy.Resume()
	})
	r.finish("redis-stall", checkOpts{})
}

// TestChaosSlowNetwork: a fifth of the subscribers reach the LB through a
// link throttled below what their topics carry; they fall behind (and may
// be kicked as slow consumers, 4008, and resume) but end with every event
// once, in order, while the others are unaffected.
func TestChaosSlowNetwork(t *testing.T) {
	r := newRun(t, clusterOpts{env: []string{"HOOKRELAY_CLIENT_QUEUE_SIZE=64"}})
	slowLink, err := NewFaultProxy(r.c.lb.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(slowLink.Close)
	r.pub.pad = 500
	fast := startFleet(t, r.c, r.sc, r.sc.subs-r.sc.subs/5, fleetOpts{})
	slow := startFleet(t, r.c, r.sc, r.sc.subs/5, fleetOpts{baseURL: "http://" + slowLink.Addr, first: len(fast.subs)})
	r.f = &fleet{subs: append(append([]*subscriber{}, fast.subs...), slow.subs...)}
	// About a third of what the slow group's topics carry at the steady rate.
	perSub := r.sc.rate * r.sc.topicsPerSub / r.sc.topics * 800 // bytes/s, ~800 bytes per event on the wire
	slowLink.SetRate(perSub * len(slow.subs) / 3)
	r.publish(nil)
	r.finish("slow-network", checkOpts{})
	t.Logf("slow link %d B/s for %d subscribers; fast p99 %s, slow p99 %s",
		perSub*len(slow.subs)/3, len(slow.subs), pct(verify(fast, r.pub, checkOpts{}).latency, 99), pct(verify(slow, r.pub, checkOpts{}).latency, 99))
}

// TestChaosSlowConsumers: fast subscribers' delivery latency is measured
// alone (baseline), then again while a fifth as many slow consumers (each
// event takes 50 ms to process) follow the same topics and overflow their
// queues (4008 kicks, resume). The fast ones must stay near the baseline;
// the slow ones must still get everything exactly once.
func TestChaosSlowConsumers(t *testing.T) {
	r := newRun(t, clusterOpts{env: []string{"HOOKRELAY_CLIENT_QUEUE_SIZE=32"}})
	fast := startFleet(t, r.c, r.sc, r.sc.subs, fleetOpts{})
	r.f = fast
	r.publish(nil)
	base := latencies(fast, nil)
	mark := make(map[*subscriber]int)
	for _, s := range fast.subs {
		s.mu.Lock()
		mark[s] = len(s.lat)
		s.mu.Unlock()
	}
	slow := startFleet(t, r.c, r.sc, r.sc.subs/5, fleetOpts{first: len(fast.subs), slowEvery: 1, slow: 50 * time.Millisecond})
	r.f = &fleet{subs: append(append([]*subscriber{}, fast.subs...), slow.subs...)}
	// The slow consumers joined live: they are checked from the first
	// event they saw (startFleet waited until they were open).
	for _, s := range slow.subs {
		s.mu.Lock()
		s.from = make(map[string]int)
		for _, tp := range s.topics {
			s.from[tp] = r.pub.count(tp)
		}
		s.mu.Unlock()
	}
	r.publish(nil)
	loaded := latencies(fast, mark)
	tl := r.finish("slow-consumers", checkOpts{})
	t.Logf("CHAOS slow-consumers   fast latency baseline p50=%s p99=%s (n=%d); with %d slow consumers p50=%s p99=%s (n=%d); slow p99=%s",
		pct(base, 50), pct(base, 99), len(base), len(slow.subs), pct(loaded, 50), pct(loaded, 99), len(loaded), pct(tl.slowLatency, 99))
	// A latency bound is a timing claim: on a shared machine other jobs
	// swing latency more than slow consumers do, so only the full run
	// (make chaos, run on purpose on a machine set aside) asserts it; the
	// short run in make test checks delivery and logs the numbers above.
	if os.Getenv("HOOKRELAY_CHAOS") != "full" {
		return
	}
	if limit := 5*pct(base, 99) + 250*time.Millisecond; pct(loaded, 99) > limit {
		t.Errorf("fast subscribers' p99 %s with slow consumers, over %s (baseline p99 %s)", pct(loaded, 99), limit, pct(base, 99))
	}
}

// latencies collects the fast subscribers' latencies from mark[s] on.
func latencies(f *fleet, mark map[*subscriber]int) []time.Duration {
	var out []time.Duration
	for _, s := range f.subs {
		s.mu.Lock()
		out = append(out, s.lat[mark[s]:]...)
		s.mu.Unlock()
	}
	return out
}
