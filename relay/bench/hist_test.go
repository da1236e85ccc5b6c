package bench

import (
	"math"
	"testing"
	"time"
)

func TestHistQuantilesWithinThreePercent(t *testing.T) {
	var h Hist
	for i := 1; i <= 100000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		got := float64(h.Quantile(q) / time.Microsecond)
		want := q * 100000
		if math.Abs(got-want)/want > 0.035 {
			t.Errorf("q%.2f = %.0fµs, want %.0fµs ±3.5%%", q, got, want)
		}
	}
	if h.MaxUS != 100000 || h.N != 100000 {
		t.Fatalf("max %d n %d", h.MaxUS, h.N)
	}
}

func TestHistPackRoundTripAndMerge(t *testing.T) {
	var a, b Hist
	a.Add(5 * time.Millisecond)
	b.Add(7 * time.Second)
	b.pack()
	var c Hist
	c.Sparse = b.Sparse
	c.N, c.MaxUS = b.N, b.MaxUS
	c.unpack()
	a.Merge(&c)
	if a.N != 2 || a.Quantile(1) < 6*time.Second || a.Quantile(0.5) > 6*time.Millisecond {
		t.Fatalf("merged: n=%d q1=%s q.5=%s", a.N, a.Quantile(1), a.Quantile(0.5))
	}
}

func TestIntAfter(t *testing.T) {
	for in, want := range map[string]int64{`{"seq":42,"ts":1}`: 42, `"seq":7}`: 7} {
		if got, ok := intAfter([]byte(in), `"seq":`); !ok || got != want {
			t.Errorf("intAfter(%s) = %d %v", in, got, ok)
		}
	}
	if _, ok := intAfter([]byte(`{"x":1}`), `"seq":`); ok {
		t.Error("found seq where there is none")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, args := range [][]string{
		{"--bus", "kafka"},
		{"--relays", "2"},
		{"--conns", "40000"},
		{"--transport", "udp"},
		{"--bus", "redis", "--relays", "1", "--conns", "30000", "--workers", "1"},
	} {
		if _, err := parse(args, discard{}); err == nil {
			t.Errorf("parse(%v) accepted", args)
		}
	}
	c, err := parse([]string{"--bus", "redis", "--relays", "4", "--conns", "72000"}, discard{})
	if err != nil || c.Workers != 4 {
		t.Fatalf("72k over 4 relays: %+v %v", c, err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
