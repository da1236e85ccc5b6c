package memory

import (
	"sort"

	"github.com/hookrelay/hookrelay/infra/event"
)

// stored is one retained event. prev is the id of the event published
// before it on the same topic (zero for the first): when the oldest event a
// replay would send does not follow the replay's position, events between
// them were trimmed or expired.
type stored struct {
	id   event.ID
	prev event.ID
	json []byte
}

// ring is a topic's bounded history, oldest first. It grows by append up to
// max and then overwrites the oldest, so a topic with three events costs
// three slots, not HistoryLen.
type ring struct {
	buf  []stored
	head int // index of the oldest event once buf is full; 0 before
	max  int
}

func (r *ring) len() int { return len(r.buf) }

// at returns the i-th retained event, 0 = oldest.
func (r *ring) at(i int) *stored {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return &r.buf[j]
}

func (r *ring) push(s stored) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.head] = s
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
}

func (r *ring) reset() {
	r.buf = nil
	r.head = 0
}

// after returns the index of the first retained event with id > id
// (r.len() if none). Ids are increasing, so binary search applies.
func (r *ring) after(id event.ID) int {
	return sort.Search(r.len(), func(i int) bool { return r.at(i).id.Compare(id) > 0 })
}

// truncatedAfter reports whether events after position id are missing: the
// first retained event after id does not directly follow it.
func (r *ring) truncatedAfter(id event.ID) bool {
	i := r.after(id)
	return i < r.len() && r.at(i).prev != id
}
