package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// honest is the well-behaved pair that runs beside every attack: a
// publisher posting one probe event every probeEvery with the API key, and
// an SSE subscriber measuring publish -> deliver latency of each.
type honest struct {
	stream *sseStream
	pub    *http.Client
	url    string

	mu       sync.Mutex
	sentOK   map[int]bool
	got      map[int]bool
	latency  []time.Duration
	failures int
	n        int
	wg       sync.WaitGroup
}

const probeEvery = 20 * time.Millisecond

func startHonest(t *testing.T, r *relaytest.Relay, topic string) *honest {
	t.Helper()
	tok := r.Token(t, "honest", []string{topic}, nil)
	s, a := openSSE(t, controlIP, r.Addr, "/v1/sse?topic="+topic, http.Header{"Authorization": {"Bearer " + tok}})
	if s == nil {
		t.Fatalf("honest subscriber refused: %s", a)
	}
	h := &honest{stream: s, pub: httpClientFrom(controlIP), url: r.URL, sentOK: map[int]bool{}, got: map[int]bool{}}
	t.Cleanup(s.Close)
	h.wg.Add(1)
	go h.read()
	return h
}

// read records every probe delivered: its n and its latency (the probe
// carries its send time).
func (h *honest) read() {
	defer h.wg.Done()
	for {
		f, err := h.stream.next()
		if err != nil {
			return
		}
		var ev struct {
			Data struct {
				N int   `json:"n"`
				T int64 `json:"t"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(f.data), &ev) != nil || ev.Data.T == 0 {
			continue
		}
		h.mu.Lock()
		h.got[ev.Data.N] = true
		h.latency = append(h.latency, time.Since(time.Unix(0, ev.Data.T)))
		h.mu.Unlock()
	}
}

// publishFor publishes probes until ctx ends.
func (h *honest) publishFor(ctx context.Context, topic string) {
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		h.n++
		n := h.n
		h.mu.Unlock()
		body := fmt.Sprintf(`{"topic":%q,"type":"probe","data":{"n":%d,"t":%d}}`, topic, n, time.Now().UnixNano())
		req, _ := http.NewRequest("POST", h.url+"/v1/publish", strings.NewReader(body)) // a constant URL
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", relaytest.APIKey)
		resp, err := h.pub.Do(req)
		ok := err == nil && resp.StatusCode == 200
		if err == nil {
			resp.Body.Close()
		}
		h.mu.Lock()
		if ok {
			h.sentOK[n] = true
		} else {
			h.failures++
		}
		h.mu.Unlock()
	}
}

// result is what one phase measured.
type result struct {
	name                   string
	admitted               bool // the limits admit part of this attack (admitted)
	probes, failed, lost   int
	p50, p99               time.Duration
	slowMax                time.Duration
	slowCmd                string
	slowOver5              int
	redisBefore, redisMax  int64
	relayBefore, relayMax  int64
	redisAfter, relayAfter int64
	rate                   float64 // attack requests/s, 0: unpaced or none
	attack                 attackResult
	cpu                    cpuTimes
}

// cpuTimes is CPU time (user + system) spent during a phase.
type cpuTimes struct {
	relay, redis, attacker, test time.Duration
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{relay: c.relay - o.relay, redis: c.redis - o.redis, attacker: c.attacker - o.attacker, test: c.test - o.test}
}

// cpu reads the CPU time so far of the relay (/proc/<pid>/stat), Redis
// (INFO cpu) and this test process (the honest pair and the sampler).
func (s *sampler) cpu() cpuTimes {
	var c cpuTimes
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid)); err == nil {
		// Fields after the ")" that ends the command name: utime and
		// stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on
		// Linux).
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64) // a malformed field reads as 0, visible in the report
				st, _ := strconv.ParseInt(f[12], 10, 64)
				c.relay = time.Duration(u+st) * 10 * time.Millisecond
			}
		}
	}
	if info, err := s.rdb.Info(context.Background(), "cpu").Result(); err == nil {
		for _, l := range strings.Split(info, "\r\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
				f, _ := strconv.ParseFloat(v, 64) // as above
				c.redis += time.Duration(f * float64(time.Second))
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.test = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return c
}

// settle waits until every accepted probe was delivered (bounded) and
// returns the phase's honest figures, resetting them for the next phase.
func (h *honest) settle(r *result) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		missing := 0
		for n := range h.sentOK {
			if !h.got[n] {
				missing++
			}
		}
		h.mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := range h.sentOK {
		if !h.got[n] {
			r.lost++
		}
	}
	r.probes, r.failed = len(h.sentOK)+h.failures, h.failures
	slices.Sort(h.latency)
	if len(h.latency) > 0 {
		r.p50 = h.latency[len(h.latency)/2]
		r.p99 = h.latency[min(len(h.latency)-1, len(h.latency)*99/100)]
	}
	h.sentOK, h.got, h.latency, h.failures = map[int]bool{}, map[int]bool{}, nil, 0
}

// sampler tracks Redis used_memory and the relay's RSS during a phase.
type sampler struct {
	rdb          *goredis.Client
	pid          int
	redis, relay atomic.Int64
}

func (s *sampler) redisMem() int64 {
	info, err := s.rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64) // -1 on a malformed answer is visible in the report
			return n
		}
	}
	return -1
}

func (s *sampler) relayRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return -1
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			n, _ := strconv.ParseInt(f[0], 10, 64) // kB
			return n << 10
		}
	}
	return -1
}

// run samples every 100 ms until ctx ends, keeping the maxima.
func (s *sampler) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := s.redisMem(); m > s.redis.Load() {
			s.redis.Store(m)
		}
		if m := s.relayRSS(); m > s.relay.Load() {
			s.relay.Store(m)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
