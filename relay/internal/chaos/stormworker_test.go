package chaos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookrelay/hookrelay/relay/client"
)

// stormWorkerEnv, when set (to a stormSpec in JSON), makes this test
// binary a connect storm load worker instead of running tests: one process
// may open at most 20,000 files and a proxied subscriber costs three (its
// own socket and both sides of the LB), so a storm of 15,000 subscribers
// is spread over several workers, each with its own LB in front of the
// same relays.
const stormWorkerEnv = "HOOKRELAY_STORM_WORKER"

// stormSpec is what the test hands a worker.
type stormSpec struct {
	First  int      `json:"first"` // number of the worker's first subscriber
	N      int      `json:"n"`     // subscribers, SSE, one topic each
	Topics int      `json:"topics"`
	Token  string   `json:"token"`
	Relays []string `json:"relays"` // the LB's targets (host:port)
	Only   int      `json:"only"`   // index of the only target registered at first
	// Listen is the loopback address the worker's LB listens on and its
	// subscribers dial from; Source the one the LB dials the relays from.
	Listen string        `json:"listen"`
	Source string        `json:"source"`
	Open   time.Duration `json:"open"`   // bound for every subscriber to open
	Settle time.Duration `json:"settle"` // bound for catching up after "stop"
}

// stormReply is a worker's answer to a command (one JSON line).
type stormReply struct {
	Open  int         `json:"open"` // subscribers open (since the asked time)
	Error string      `json:"error,omitempty"`
	Subs  []stormSubs `json:"subs,omitempty"` // the answer to stop
}

// stormSubs is what one subscriber of a worker saw, for the test's verify.
type stormSubs struct {
	N      int              `json:"n"`
	Topics []string         `json:"topics"`
	Obs    map[string][]int `json:"obs"`    // seqs in arrival order; -1 a truncated signal
	Lat    []int64          `json:"lat"`    // delivery latencies, ns
	OpenAt []int64          `json:"openAt"` // unix ns of every open
	Recon  []int64          `json:"recon"`  // reconnect durations, ns
	Closes map[int]int      `json:"closes"`
	Reason map[string]int   `json:"reasons"`
	Errs   []string         `json:"errs,omitempty"`
}

// topicCounts is the accepted events per topic, as "stop" hands them over.
type topicCounts map[string]int

func (c topicCounts) count(topic string) int { return c[topic] }

// stormWorkerMain runs the worker and exits when stormWorkerEnv is set;
// otherwise it returns at once.
func stormWorkerMain() {
	spec := os.Getenv(stormWorkerEnv)
	if spec == "" {
		return
	}
	if err := runStormWorker(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "storm worker: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runStormWorker opens the subscribers through its own LB, answers
// {"open":N} once all are open, then serves commands from in, one per line:
//
//	register       register every relay with the LB
//	status <ns>    {"open":K}: subscribers open whose last open was after unix ns
//	stop <counts>  wait until each caught up with counts (JSON topic -> accepted events), stop, answer the subscribers' observations
func runStormWorker(specJSON string, in io.Reader, out io.Writer) error {
	var sp stormSpec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	lb, err := NewLBAt(sp.Listen, sp.Source, sp.Relays...)
	if err != nil {
		return fmt.Errorf("lb: %w", err)
	}
	defer lb.Close()
	for i, a := range sp.Relays {
		if i != sp.Only {
			lb.Deregister(a)
		}
	}
	f, err := openStormFleet(sp, lb.URL)
	defer f.stop()
	enc := json.NewEncoder(out)
	if err != nil {
		return errors.Join(err, enc.Encode(stormReply{Error: err.Error()}))
	}
	if err := enc.Encode(stormReply{Open: len(f.subs)}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var r stormReply
		switch cmd {
		case "register":
			for _, a := range sp.Relays {
				lb.Register(a)
			}
		case "status":
			ns, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return fmt.Errorf("status %q: %w", arg, err)
			}
			r.Open = f.openSince(time.Unix(0, ns))
		case "stop":
			var counts topicCounts
			if err := json.Unmarshal([]byte(arg), &counts); err != nil {
				return fmt.Errorf("stop %q: %w", arg, err)
			}
			deadline := time.Now().Add(sp.Settle)
			for !f.caughtUp(counts) && time.Now().Before(deadline) {
				<-time.After(20 * time.Millisecond)
			}
			f.stop()
			r.Subs = exportSubs(f)
			return enc.Encode(r)
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return fmt.Errorf("stdin ended before stop: %v", sc.Err())
}

// openStormFleet starts sp.N SSE subscribers through lbURL, dialing from
// sp.Listen, and waits until all are open or sp.Open passed.
func openStormFleet(sp stormSpec, lbURL string) (*fleet, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(sp.Listen)}}
	f := &fleet{}
	for i := range sp.N {
		num := sp.First + i
		s := newSubscriber(num, []string{topicName(num % sp.Topics)}, lbURL, sp.Token)
		s.transport, s.dialer = client.SSE, d
		if err := s.init(); err != nil {
			return f, err
		}
		s.start()
		f.subs = append(f.subs, s)
	}
	deadline := time.Now().Add(sp.Open)
	for !f.allOpen() {
		if time.Now().After(deadline) {
			return f, fmt.Errorf("%d of %d subscribers open after %s", f.openSince(time.Time{}), sp.N, sp.Open)
		}
		<-time.After(20 * time.Millisecond)
	}
	return f, nil
}

// openSince counts the subscribers open now whose last open was after t.
func (f *fleet) openSince(t time.Time) int {
	n := 0
	for _, s := range f.subs {
		s.mu.Lock()
		if s.opens > 0 && s.closedAt.IsZero() && s.openAt[len(s.openAt)-1].After(t) {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

func exportSubs(f *fleet) []stormSubs {
	out := make([]stormSubs, 0, len(f.subs))
	for _, s := range f.subs {
		s.mu.Lock()
		e := stormSubs{N: s.n, Topics: s.topics, Obs: make(map[string][]int), Closes: s.closes, Reason: s.reasons, Errs: s.errs}
		for tp, obs := range s.obs {
			seqs := make([]int, len(obs))
			for i, o := range obs {
				seqs[i] = o.seq
				if o.trunc {
					seqs[i] = -1
				}
			}
			e.Obs[tp] = seqs
		}
		for _, d := range s.lat {
			e.Lat = append(e.Lat, int64(d))
		}
		for _, at := range s.openAt {
			e.OpenAt = append(e.OpenAt, at.UnixNano())
		}
		for _, d := range s.reconnects {
			e.Recon = append(e.Recon, int64(d))
		}
		s.mu.Unlock()
		out = append(out, e)
	}
	return out
}

// importSubs rebuilds the subscribers a worker exported, for verify.
func importSubs(in []stormSubs) []*subscriber {
	out := make([]*subscriber, 0, len(in))
	for _, e := range in {
		s := newSubscriber(e.N, e.Topics, "", "")
		s.transport = client.SSE
		s.errs = e.Errs
		maps.Copy(s.closes, e.Closes)
		maps.Copy(s.reasons, e.Reason)
		for tp, seqs := range e.Obs {
			for _, q := range seqs {
				s.obs[tp] = append(s.obs[tp], observation{seq: q, trunc: q < 0})
			}
		}
		for _, d := range e.Lat {
			s.lat = append(s.lat, time.Duration(d))
		}
		for _, ns := range e.OpenAt {
			s.openAt = append(s.openAt, time.Unix(0, ns))
		}
		for _, d := range e.Recon {
			s.reconnects = append(s.reconnects, time.Duration(d))
		}
		out = append(out, s)
	}
	return out
}
