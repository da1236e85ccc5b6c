package chaos

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
)

// tally is what one scenario measured. Every count is over
// (subscriber, topic) streams.
type tally struct {
	published    int // events accepted by the relays (distinct seqs)
	expected     int // sum over subscribers of the accepted events of their topics
	delivered    int // events received, duplicates included
	lost         int // accepted events never received without a truncated signal
	duplicated   int // events received twice
	outOfOrder   int // an unseen seq received after a higher one
	truncSignals int // truncated signals received
	truncLost    int // events skipped right after a truncated signal (documented loss)
	redelivered  int // events received again after a truncated signal because Redis lost their dedup key (in-flight at the restart)
	reconnects   []time.Duration
	latency      []time.Duration
	slowLatency  []time.Duration
	problems     []string
}

// checkOpts say which losses a scenario's documented guarantee allows.
type checkOpts struct {
	// redeliverable: per topic, seqs whose publish was in flight when Redis
	// lost its data (their dedup key may be gone, so the sender's retry
	// can store them again).
	redeliverable seqSet
}

// seqSet holds, per topic, a set of sequence numbers.
type seqSet map[string]map[int]bool

// add puts each topic's seq of m (topic -> seq, as inflightNow returns)
// into s.
func (s seqSet) add(m map[string]int) {
	for tp, seq := range m {
		if s[tp] == nil {
			s[tp] = make(map[int]bool)
		}
		s[tp][seq] = true
	}
}

// verify walks every subscriber's observations of every topic against the
// accepted sequence.
func verify(f *fleet, p *publisher, o checkOpts) *tally {
	tl := &tally{published: p.total()}
	for _, s := range f.subs {
		s.mu.Lock()
		for _, tp := range s.topics {
			n := p.count(tp)
			tl.expected += n
			tl.expected -= s.from[tp]
			tl.walk(s, tp, s.obs[tp], s.from[tp], n, o.redeliverable[tp])
		}
		tl.reconnects = append(tl.reconnects, s.reconnects...)
		if s.slow > 0 {
			tl.slowLatency = append(tl.slowLatency, s.lat...)
		} else {
			tl.latency = append(tl.latency, s.lat...)
		}
		for _, e := range s.errs {
			tl.problem("sub %d: %s", s.n, e)
		}
		s.mu.Unlock()
	}
	return tl
}

// walk checks one stream: every seq in [from, n) exactly once and in order,
// except that a truncated signal may precede a gap (documented loss) and,
// for redeliverable seqs, a second copy after a truncated signal.
func (tl *tally) walk(s *subscriber, topic string, obs []observation, from, n int, redeliverable map[int]bool) {
	next, epoch, trunc := from, 0, false
	seenIn := make(map[int]int) // seq -> epoch it was first seen in
	for _, o := range obs {
		if o.trunc {
			tl.truncSignals++
			epoch++
			trunc = true
			continue
		}
		tl.delivered++
		if first, seen := seenIn[o.seq]; seen {
			if first < epoch && redeliverable[o.seq] {
				tl.redelivered++
			} else {
				tl.duplicated++
				tl.problem("sub %d (%s) %s: seq %d received twice", s.n, s.transport, topic, o.seq)
			}
			next = max(next, o.seq+1)
			trunc = false
			continue
		}
		seenIn[o.seq] = epoch
		switch {
		case o.seq > next && trunc:
			tl.truncLost += o.seq - next
		case o.seq > next:
			tl.lost += o.seq - next
			tl.problem("sub %d (%s) %s: silent gap, seqs %d..%d missing before %d", s.n, s.transport, topic, next, o.seq-1, o.seq)
		case o.seq < next:
			tl.outOfOrder++
			tl.problem("sub %d (%s) %s: seq %d after %d", s.n, s.transport, topic, o.seq, next-1)
		}
		next = max(next, o.seq+1)
		trunc = false
	}
	if next < n {
		tl.lost += n - next
		tl.problem("sub %d (%s) %s: seqs %d..%d of %d never received", s.n, s.transport, topic, next, n-1, n)
	}
}

func (tl *tally) problem(format string, args ...any) {
	tl.problems = append(tl.problems, fmt.Sprintf(format, args...))
}

// report logs the scenario's numbers in the fixed format docs/reliability.md
// quotes and fails the test on loss, duplicates, disorder or problems.
func (tl *tally) report(t *testing.T, name string, f *fleet, p *publisher) {
	t.Helper()
	sse := 0
	for _, s := range f.subs {
		if s.transport == client.SSE {
			sse++
		}
	}
	t.Logf("CHAOS %-16s subs=%d(sse=%d,ws=%d) published=%d expected=%d delivered=%d lost=%d duplicated=%d "+
		"truncated=%d trunc_skipped=%d redelivered=%d reconnects=%d reconnect_p50=%s p99=%s pub_retries=%d pub_503=%d dup_answers=%d closes=%v",
		name, len(f.subs), sse, len(f.subs)-sse, tl.published, tl.expected, tl.delivered, tl.lost, tl.duplicated,
		tl.truncSignals, tl.truncLost, tl.redelivered, len(tl.reconnects), pct(tl.reconnects, 50), pct(tl.reconnects, 99),
		p.retries.Load(), p.unavailable.Load(), p.dupAnswers.Load(), f.closeCodes())
	if len(tl.latency) > 0 {
		t.Logf("CHAOS %-16s latency p50=%s p99=%s max=%s (n=%d)", name, pct(tl.latency, 50), pct(tl.latency, 99), pct(tl.latency, 100), len(tl.latency))
	}
	p.checkProblems(t)
	if len(tl.problems) > 0 {
		shown := tl.problems[:min(len(tl.problems), 20)]
		t.Errorf("%d problems (first %d):\n%s", len(tl.problems), len(shown), strings.Join(shown, "\n"))
	}
	if tl.lost != 0 || tl.duplicated != 0 || tl.outOfOrder != 0 {
		t.Errorf("lost=%d duplicated=%d out_of_order=%d, want 0", tl.lost, tl.duplicated, tl.outOfOrder)
	}
	if tl.published == 0 {
		t.Error("nothing was published")
	}
}

// pct is the p-th percentile (nearest rank) of ds, rounded for reading.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(100 * time.Microsecond)
}
