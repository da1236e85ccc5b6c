package event

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseID(t *testing.T) {
	good := map[string]ID{
		"0-0":             {},
		"1700000000000-3": {MS: 1700000000000, Seq: 3},
		"18446744073709551615-18446744073709551615": {MS: math.MaxUint64, Seq: math.MaxUint64},
		"007-01": {MS: 7, Seq: 1}, // leading zeros parse (Redis accepts them too)
	}
	for s, want := range good {
		got, err := ParseID(s)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := []string{
		"", "-", "1-", "-1", "1", "1-2-3", "a-1", "1-a", "+1-2", "1-+2", " 1-2", "1-2 ", "1 -2",
		"-1-2", "1--2", "18446744073709551616-0", "0-18446744073709551616", "0x1-2", "1.0-2",
		strings.Repeat("1", 21) + "-1", "١-٢",
	}
	for _, s := range bad {
		if id, err := ParseID(s); err == nil {
			t.Errorf("ParseID(%q) = %v, want an error", s, id)
		}
	}
}

func TestIDStringAndCompare(t *testing.T) {
	ids := []ID{{}, {0, 1}, {1, 0}, {1, 1}, {1, math.MaxUint64}, {2, 0}, {math.MaxUint64, 0}, {math.MaxUint64, math.MaxUint64}}
	for i, a := range ids {
		s := a.String()
		if got := string(a.AppendTo([]byte("x"))); got != "x"+s {
			t.Errorf("AppendTo = %q, String = %q", got, s)
		}
		back, err := ParseID(s)
		if err != nil || back != a {
			t.Errorf("ParseID(%v.String()) = %v, %v", a, back, err)
		}
		for j, b := range ids {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
		}
	}
	if !(ID{}).IsZero() || (ID{0, 1}).IsZero() || (ID{1, 0}).IsZero() {
		t.Error("IsZero")
	}
}

func TestIDNext(t *testing.T) {
	cases := []struct {
		id   ID
		now  uint64
		want ID
	}{
		{ID{}, 5, ID{5, 0}},
		{ID{5, 0}, 5, ID{5, 1}},
		{ID{5, 9}, 4, ID{5, 10}},
		{ID{5, 9}, 6, ID{6, 0}},
		{ID{5, math.MaxUint64}, 5, ID{6, 0}}, // seq exhausted: next ms, as Redis does
	}
	for _, c := range cases {
		got := c.id.Next(c.now)
		if got != c.want || got.Compare(c.id) <= 0 {
			t.Errorf("%v.Next(%d) = %v, want %v", c.id, c.now, got, c.want)
		}
	}
}

func TestEventValidate(t *testing.T) {
	ok := Event{Topic: "a", Type: "t", Source: "s", Data: json.RawMessage(`{"x":1}`)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]Event{
		"topic":              {Topic: "a b", Type: "t"},
		"event type: must":   {Topic: "a"},
		"event type: longer": {Topic: "a", Type: strings.Repeat("t", MaxTypeLen+1)},
		"event type: only":   {Topic: "a", Type: "t t"},
		"source: longer":     {Topic: "a", Type: "t", Source: strings.Repeat("s", MaxSourceLen+1)},
		"source: only":       {Topic: "a", Type: "t", Source: "s\x00"},
		"data":               {Topic: "a", Type: "t", Data: json.RawMessage(`{`)},
	}
	for want, e := range cases {
		err := e.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", e, err, want)
		}
	}
}

func TestEventJSON(t *testing.T) {
	e := Event{ID: "1-2", Topic: "a", Type: "t", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: json.RawMessage(`{"x":1}`)}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"1-2","topic":"a","type":"t","time":"2026-01-02T03:04:05Z","data":{"x":1}}`
	if string(b) != want {
		t.Fatalf("got %s want %s", b, want)
	}
}

var idRef = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

func FuzzParseID(f *testing.F) {
	f.Add("1700000000000-3")
	f.Add("0-0")
	f.Add("18446744073709551616-0")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		// Reference: digits-dash-digits, each part at most 20 digits (a
		// cheap bound, even for leading zeros) and fitting in uint64.
		want := idRef.MatchString(s)
		if want {
			ms, seq, _ := strings.Cut(s, "-")
			_, e1 := strconv.ParseUint(ms, 10, 64)
			_, e2 := strconv.ParseUint(seq, 10, 64)
			want = e1 == nil && e2 == nil && len(ms) <= 20 && len(seq) <= 20
		}
		if (err == nil) != want {
			t.Fatalf("ParseID(%q) = %v, %v; reference says valid=%v", s, id, err, want)
		}
		if err != nil {
			return
		}
		back, err := ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, id, id.String(), back, err)
		}
		if next := id.Next(id.MS); id.Seq < math.MaxUint64 || id.MS < math.MaxUint64 {
			if next.Compare(id) <= 0 {
				t.Fatalf("%v.Next = %v, not after", id, next)
			}
		}
	})
}
