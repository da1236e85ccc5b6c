package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workerSpec is what the orchestrator hands a load process.
type workerSpec struct {
	Relays    []string `json:"relays"`  // host:port, connections spread round robin
	Sources   []string `json:"sources"` // source IPs, spread round robin
	Conns     int      `json:"conns"`
	Transport string   `json:"transport"` // sse, ws or mixed
	Topics    int      `json:"topics"`
	Offset    int      `json:"offset"` // index of this worker's first connection overall
	// Drain bounds the wait, after the last publish, for every live
	// subscriber to reach the last sequence number of its topic.
	Drain time.Duration `json:"drain"`
}

// workerReport is a load process's answer, one JSON line per phase.
type workerReport struct {
	Phase    string `json:"phase"`
	Ready    int64  `json:"ready"`
	Errors   int64  `json:"errors"`
	FirstErr string `json:"first_err,omitempty"`
	Received int64  `json:"received"`
	Lost     int64  `json:"lost"`
	Dups     int64  `json:"dups"`
	Kicked   int64  `json:"kicked"`
	Hist     *Hist  `json:"hist,omitempty"`
	// RxHist is the same latency to the kernel's receive timestamp of the
	// segment (SO_TIMESTAMPNS): without the load process's own queueing.
	// RxStamped counts the events that had one (the others count their
	// read time in RxHist too).
	RxHist    *Hist `json:"rx_hist,omitempty"`
	RxStamped int64 `json:"rx_stamped"`
	// Waited is how long the worker waited after "stop" for its
	// subscribers to catch up; Behind counts those that had not when
	// the wait ended (their missing events are counted lost).
	Waited time.Duration `json:"waited_ns"`
	Behind int64         `json:"behind"`
	// Resumes counts connections that ended mid-run and resumed from
	// their cursor (as real clients do); FirstDrop is the first such end.
	Resumes   int64  `json:"resumes"`
	FirstDrop string `json:"first_drop,omitempty"`
	// CPU is this load process's CPU time from "connected" until its
	// subscribers caught up: the machine's share the tool took.
	CPU time.Duration `json:"cpu_ns"`
}

type worker struct {
	spec                              workerSpec
	ready, errs, received, lost, dups atomic.Int64
	kicked                            atomic.Int64
	rxStamped                         atomic.Int64 // events with a kernel receive timestamp
	resumes                           atomic.Int64
	firstDrop                         atomic.Value
	lat, rxLat                        atomicHist
	firstErr                          atomic.Value
	subs                              []*sub
	readersOnce                       sync.Once
	readers                           []*streamReader // SSE and WebSocket stream readers (reader_linux.go)
}

// atomicHist is Hist with lock-free adds from many connection goroutines.
type atomicHist struct{ h Hist }

func (a *atomicHist) add(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	b := min(bucketOf(us), len(a.h.Counts)-1)
	atomic.AddUint64(&a.h.Counts[b], 1)
	atomic.AddUint64(&a.h.N, 1)
	for {
		m := atomic.LoadUint64(&a.h.MaxUS)
		if us <= m || atomic.CompareAndSwapUint64(&a.h.MaxUS, m, us) {
			return
		}
	}
}

// runWorker is the body of `relay bench worker`: connect, report, wait for
// "stop <json expected seq per topic>" on stdin, report totals.
func runWorker(ctx context.Context, specJSON string, stdin io.Reader, stdout io.Writer) error {
	w := &worker{}
	if err := json.Unmarshal([]byte(specJSON), &w.spec); err != nil {
		return fmt.Errorf("worker spec: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	w.connectAll(ctx, &wg)
	enc := json.NewEncoder(stdout)
	cpu0 := selfCPU()
	if err := enc.Encode(w.report("connected")); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil {
		return fmt.Errorf("worker stdin: %w", err)
	}
	var expect map[string]int64
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "stop ")), &expect); err != nil {
		return fmt.Errorf("worker stop line: %w", err)
	}
	t0 := time.Now()
	behind := w.waitCaughtUp(expect, w.spec.Drain)
	waited := time.Since(t0)
	cpu := selfCPU() - cpu0
	cancel()
	wg.Wait()
	for _, s := range w.subs {
		if want, last := expect[s.topic], s.lastSeq.Load(); want > last {
			w.lost.Add(want - last)
		}
	}
	r := w.report("done")
	r.Waited, r.Behind, r.CPU = waited, behind, cpu
	h, rh := w.lat.h, w.rxLat.h
	h.pack()
	rh.pack()
	r.Hist, r.RxHist = &h, &rh
	r.RxStamped = w.rxStamped.Load()
	return enc.Encode(r)
}

// connectAll opens the connections in waves of 256 so the relay's accept
// queue is not flooded, and returns once all are ready or 60 s passed.
func (w *worker) connectAll(ctx context.Context, wg *sync.WaitGroup) {
	s := w.spec
	for i := 0; i < s.Conns; i++ {
		n := s.Offset + i
		sb := &sub{w: w, idx: i, src: net.ParseIP(s.Sources[n%len(s.Sources)]), relay: s.Relays[n%len(s.Relays)],
			topic: "bench:" + strconv.Itoa(n%max(s.Topics, 1))}
		w.subs = append(w.subs, sb)
		ws := s.Transport == "ws" || s.Transport == "mixed" && n%2 == 1
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sb.ended.Store(true)
			sb.run(ctx, ws)
		}()
		if i%256 == 255 {
			w.waitReady(int64(i+1), 10*time.Second)
		}
	}
	w.waitReady(int64(s.Conns), 60*time.Second)
}

// waitCaughtUp waits until every subscriber still connected has received
// the last event published on its topic, or limit passed, and returns how
// many were still behind. A loaded machine delivers late, not never: ending
// the wait at a fixed time counted late deliveries as lost.
func (w *worker) waitCaughtUp(expect map[string]int64, limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	for {
		var behind int64
		for _, s := range w.subs {
			if !s.ended.Load() && s.lastSeq.Load() < expect[s.topic] {
				behind++
			}
		}
		if behind == 0 || time.Now().After(deadline) {
			return behind
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run keeps one subscriber connected: a connection that fails before it
// was ever ready is an error; one that ends later (the relay kicked it or
// timed a write out because this process fell behind) resumes from its
// cursor after a short pause, like hookrelay's clients, and is counted.
func (s *sub) run(ctx context.Context, ws bool) {
	for {
		var err error
		if ws {
			err = s.runWS(ctx)
		} else {
			err = s.runSSE(ctx)
		}
		if err == nil || ctx.Err() != nil {
			return
		}
		if !s.wasReady {
			s.w.errs.Add(1)
			s.w.firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		s.w.resumes.Add(1)
		s.w.firstDrop.CompareAndSwap(nil, err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// selfCPU is this process's CPU time so far (0 where /proc is missing).
func selfCPU() time.Duration {
	st, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return st.CPU
}

func (w *worker) waitReady(n int64, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for w.ready.Load()+w.errs.Load() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *worker) report(phase string) workerReport {
	r := workerReport{Phase: phase, Ready: w.ready.Load(), Errors: w.errs.Load(), Received: w.received.Load(),
		Lost: w.lost.Load(), Dups: w.dups.Load(), Kicked: w.kicked.Load()}
	if e, ok := w.firstErr.Load().(string); ok {
		r.FirstErr = e
	}
	r.Resumes = w.resumes.Load()
	if e, ok := w.firstDrop.Load().(string); ok {
		r.FirstDrop = e
	}
	return r
}
