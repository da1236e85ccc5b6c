package hostile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/config"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
	"github.com/hookrelay/hookrelay/relay/client"
	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestCostBounds runs the 2026-12 review's cost attacks (H1, H2, M2, M3,
// M4) one after the other against a relay with its default cost settings,
// each beside an honest publisher and subscriber, and checks that no honest
// publish failed and no accepted probe was lost. Each attack runs in a
// process of its own (TestAttacker), paced at 10% above what the relay's
// limits admit over the phase, so that the limit is exercised and the
// phase measures the cost the limits allow, not CPU starvation by a flood
// of 429s. It logs, per phase, the Redis SLOWLOG maximum, Redis and relay
// memory, the honest latency and the CPU of relay, Redis, attacker and
// test process: these figures are for docs and notes, never asserted (the
// machine is shared). The short version runs in make test;
// HOOKRELAY_HOSTILE=full runs 15 s phases on the review's full-size topic,
// and HOOKRELAY_HOSTILE=flood the same attacks unpaced, as information:
// the volumetric case belongs to WAF/ALB rate rules (docs/security.md).
func TestCostBounds(t *testing.T) {
	mode := os.Getenv("HOOKRELAY_HOSTILE")
	phase, bigEvents := 2*time.Second, 60
	if mode == "full" || mode == "flood" {
		phase, bigEvents = 15*time.Second, 1000
	}
	c := startCostRelay(t)
	c.seedBigTopic(t, "room:m1", bigEvents)
	h := startHonest(t, c.r, "honest:1")
	mallory := c.r.Token(t, "mallory", []string{"room:*"}, []string{"room:*"})
	var results []result
	for _, p := range costPhases(phase, mode == "flood") {
		p.URL, p.Addr, p.Token, p.For = c.r.URL, c.r.Addr, mallory, phase
		results = append(results, c.runPhase(t, h, p))
	}
	h.stream.Close()
	report(t, results)
	for _, r := range results {
		if r.failed > 0 || r.lost > 0 {
			t.Errorf("%s: %d honest publishes failed, %d accepted probes lost", r.name, r.failed, r.lost)
		}
		// An attack the limits partly admit must get some of it through,
		// or the phase measures a refusal instead of the cost the limits
		// allow (the M2 attack once sent keys longer than token publishers
		// may use, and every request was a cheap 400).
		if r.admitted && r.attack.Answers["200"] == 0 {
			t.Errorf("%s: no attack request was admitted (answers %v): the phase does not measure what the limits allow", r.name, r.attack.Answers)
		}
	}
}

// costPhase is one phase: its name and its attack (Kind "" for none).
type costPhase struct {
	name string
	attackSpec
}

// costPhases are the phases, paced at the default limits, or unpaced with
// the review's loop counts when flood.
func costPhases(d time.Duration, flood bool) []costPhase {
	// over is 10% above what a token bucket admits in d (its burst plus
	// its rate for d), spread evenly over d.
	over := func(rate float64, burst int) float64 { return 1.1 * (rate + float64(burst)/d.Seconds()) }
	read := over(config.DefaultReadRate, config.DefaultReadBurst)
	ps := []costPhase{
		{name: "quiet"},
		{"H1 unread, read_rate", attackSpec{Kind: "unread", Rate: read, Workers: 4}},
		{"H2 history limit=1000, read_rate", attackSpec{Kind: "history", Rate: read, Workers: 4}},
		{"H2 30 SSE replays from 0-0, not reading", attackSpec{Kind: "stalledReplays", Workers: 30}},
		{"M2 token publish, unique keys, new topics, token_publish_rate", attackSpec{Kind: "uniqueKeys",
			Rate: over(config.DefaultTokenPublishRate, config.DefaultTokenPublishBurst), Workers: 4}},
		// No rate limit applies before authentication; what bounds this
		// request is its cost (refused after max_topics_per_connection
		// parameters), so it runs at a fixed 100/s.
		{"M3 unauthenticated 4700 topics, 100/s", attackSpec{Kind: "manyTopics", Rate: 100, Workers: 8}},
		{"M4 1 MiB webhook, 84 signatures, webhook_failure_rate", attackSpec{Kind: "manySignatures",
			Rate: over(config.DefaultWebhookFailureRate, config.DefaultWebhookFailureBurst), Workers: 8}},
		// Quiet again: how much the machine's own noise moved during the
		// run (it is shared), to judge the attack phases against.
		{name: "quiet again"},
	}
	if flood {
		workers := []int{0, 4, 24, 30, 4, 8, 8, 0} // the review's loop counts
		for i := range ps {
			ps[i].Rate, ps[i].Workers = 0, workers[i]
			if ps[i].Kind != "" && ps[i].Kind != "stalledReplays" {
				ps[i].name = fmt.Sprintf("flood: %s x%d", strings.SplitN(ps[i].name, ",", 2)[0], workers[i])
			}
		}
	}
	return ps
}

// admitted reports whether a rate limit admits part of an attack of this
// kind (the rest are 429s); the others are refused by their cost bound.
func admitted(kind string) bool {
	switch kind {
	case "unread", "history", "uniqueKeys":
		return true
	}
	return false
}

// costRelay is a relay serve with the default cost settings on its own
// Redis, plus a Redis client for SLOWLOG and INFO.
type costRelay struct {
	r   *relaytest.Relay
	rdb *goredis.Client
}

func startCostRelay(t *testing.T) *costRelay {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "hookrelay.yaml")
	src := fmt.Sprintf("sources:\n  - name: billing\n    provider: standard\n    secrets: [%q]\n    rules:\n      - match: {type: \"invoice.*\"}\n        events:\n          - topic: 'invoice:{{.Body.data.id}}'\n", standardSecret)
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for k, v := range map[string]string{"slowlog-log-slower-than": "1000", "slowlog-max-len": "100000"} {
		if err := rdb.ConfigSet(ctx, k, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r := relaytest.Start(t, relaytest.Options{Mode: "serve", RedisURL: srv.URL(), Env: []string{"HOOKRELAY_CONFIG=" + cfg, "HOOKRELAY_LOG_LEVEL=error"}})
	return &costRelay{r: r, rdb: rdb}
}

// seedBigTopic fills topic with n events of about 60 KB: the attacker's
// prerequisite (a chat user creates it in seconds at its own rate); seeded
// with the API key so the phases start at once.
func (c *costRelay) seedBigTopic(t *testing.T, topic string, n int) {
	t.Helper()
	data := `"` + strings.Repeat("x", 60_000) + `"`
	for n > 0 {
		k := min(n, 15)
		msgs := make([]client.Message, k)
		for i := range msgs {
			msgs[i] = client.Message{Topic: topic, Type: "m", Data: []byte(data)}
		}
		c.r.Publish(t, msgs...)
		n -= k
	}
}

// runPhase runs p's attack (none for the quiet phase) in its own process
// for p.For beside the honest pair.
func (c *costRelay) runPhase(t *testing.T, h *honest, p costPhase) result {
	t.Helper()
	bg := context.Background()
	if err := c.rdb.SlowLogReset(bg).Err(); err != nil {
		t.Fatal(err)
	}
	s := &sampler{rdb: c.rdb, pid: c.r.PID()}
	res := result{name: p.name, admitted: admitted(p.Kind), rate: p.Rate, redisBefore: s.redisMem(), relayBefore: s.relayRSS()}
	cpu0 := s.cpu()
	ctx, cancel := context.WithTimeout(bg, p.For)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.run(ctx) }()
	go func() { defer wg.Done(); h.publishFor(ctx, "honest:1") }()
	if p.Kind != "" {
		res.attack = runAttacker(t, p.attackSpec)
	}
	<-ctx.Done()
	wg.Wait()
	h.settle(&res)
	res.cpu = s.cpu().sub(cpu0)
	res.cpu.attacker = res.attack.CPU
	res.redisMax, res.relayMax = s.redis.Load(), s.relay.Load()
	res.redisAfter, res.relayAfter = s.redisMem(), s.relayRSS()
	logs, err := c.rdb.SlowLogGet(bg, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if l.Duration > 5*time.Millisecond {
			res.slowOver5++
		}
		if l.Duration > res.slowMax {
			res.slowMax, res.slowCmd = l.Duration, strings.Join(l.Args[:min(len(l.Args), 2)], " ")
		}
	}
	return res
}

func report(t *testing.T, rs []result) {
	mib := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }
	var b strings.Builder
	b.WriteString("\n| phase | attack req/s | attack answers (behind) | slowlog max | commands > 5 ms | redis used MiB before/max/after | relay RSS MiB before/max/after | honest probes | p50 | p99 | failed | lost | CPU s relay / redis / attacker / test |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		rate := "–"
		if r.rate > 0 {
			rate = fmt.Sprintf("%.1f", r.rate)
		} else if strings.HasPrefix(r.name, "flood") {
			rate = "flood"
		}
		fmt.Fprintf(&b, "| %s | %s | %v (%d) | %s (%s) | %d | %s / %s / %s | %s / %s / %s | %d | %s | %s | %d | %d | %s / %s / %s / %s |\n",
			r.name, rate, r.attack.Answers, r.attack.Behind,
			r.slowMax.Round(10*time.Microsecond), r.slowCmd, r.slowOver5, mib(r.redisBefore), mib(r.redisMax), mib(r.redisAfter),
			mib(r.relayBefore), mib(r.relayMax), mib(r.relayAfter), r.probes, r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.failed, r.lost,
			sec(r.cpu.relay), sec(r.cpu.redis), sec(r.cpu.attacker), sec(r.cpu.test))
	}
	t.Log(b.String())
}
