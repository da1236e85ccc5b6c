package presence

import (
	"testing"

	"github.com/hookrelay/hookrelay/infra/presence"
)

// FuzzCoalesce: whatever a topic's log says happened within one interval,
// the coalesced update applied to the state before it gives the state
// after it, and mentions no subject that ended where it started.
func FuzzCoalesce(f *testing.F) {
	f.Add([]byte{0b00000001, 0, 0, 1, 2, 1})
	f.Add([]byte{0xff, 3, 3, 3})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		subs := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		start := map[string]bool{}
		for i, s := range subs {
			if b[0]&(1<<i) != 0 {
				start[s] = true
			}
		}
		// Each later byte toggles one subject: a join if absent, a leave
		// if present, as a consistent log would have it.
		now := map[string]bool{}
		for s, v := range start {
			now[s] = v
		}
		var changes []presence.Change
		for _, x := range b[1:] {
			s := subs[int(x)%len(subs)]
			changes = append(changes, presence.Change{Join: !now[s], Member: presence.Member{Sub: s, Name: "N" + s}})
			now[s] = !now[s]
		}
		join, leave := coalesce(changes)
		got := map[string]bool{}
		for s, v := range start {
			got[s] = v
		}
		mentioned := map[string]bool{}
		for _, m := range join {
			if mentioned[m.Sub] {
				t.Fatalf("%s mentioned twice", m.Sub)
			}
			mentioned[m.Sub] = true
			got[m.Sub] = true
		}
		for _, s := range leave {
			if mentioned[s] {
				t.Fatalf("%s mentioned twice", s)
			}
			mentioned[s] = true
			got[s] = false
		}
		for _, s := range subs {
			if got[s] != now[s] {
				t.Fatalf("%s: start %v, log %v -> coalesced join %v leave %v gives %v, want %v", s, start[s], changes, join, leave, got[s], now[s])
			}
			if mentioned[s] && start[s] == now[s] {
				t.Fatalf("%s ended where it started but is mentioned", s)
			}
		}
	})
}
