package deliverylog

import (
	"context"
	"sync"
	"time"
)

var _ Store = (*Memory)(nil)

// Memory is the in-process Store of relay dev on the memory bus: the same
// limits as Redis, per source, lost on exit.
type Memory struct {
	lim Limits
	now func() time.Time

	mu   sync.Mutex
	logs map[string]*memLog
}

// memLog is one source's log, oldest first.
type memLog struct {
	elems [][]byte
	bytes int64
}

// NewMemory returns an empty in-memory store with limits lim.
func NewMemory(lim Limits) *Memory {
	return &Memory{lim: lim.WithDefaults(), now: time.Now, logs: make(map[string]*memLog)}
}

// Append implements Store.
func (m *Memory) Append(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	minMs := m.now().Add(-m.lim.TTL).UnixMilli()
	for i := range entries {
		e := &entries[i]
		b, err := encodeEntry(e)
		if err != nil {
			return err
		}
		l := m.logs[e.Source]
		if l == nil {
			l = &memLog{}
			m.logs[e.Source] = l
		}
		l.elems = append(l.elems, b)
		l.bytes += int64(len(b))
		l.trim(m.lim, minMs)
	}
	return nil
}

// trim drops the oldest elements while the log is over a limit, as the
// Redis script does.
func (l *memLog) trim(lim Limits, minMs int64) {
	n := 0
	for n < len(l.elems) {
		over := len(l.elems)-n > lim.Count || l.bytes > lim.Bytes || elementTime(l.elems[n]) < minMs
		if !over {
			break
		}
		l.bytes -= int64(len(l.elems[n]))
		l.elems[n] = nil
		n++
	}
	l.elems = l.elems[n:]
}

// List implements Store.
func (m *Memory) List(_ context.Context, q Query) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	minMs := m.now().Add(-m.lim.TTL).UnixMilli()
	names := q.Sources
	if len(names) == 0 {
		for n := range m.logs {
			names = append(names, n)
		}
	}
	var out []Entry
	for _, n := range names {
		l := m.logs[n]
		if l == nil {
			continue
		}
		for i := len(l.elems) - 1; i >= 0; i-- {
			if elementTime(l.elems[i]) < minMs {
				break
			}
			e, err := decodeElement(l.elems[i])
			if err != nil {
				return nil, err
			}
			if q.Match(&e) {
				out = append(out, e)
			}
		}
	}
	return newestFirst(out, q.limit()), nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, source, id string) (Entry, error) {
	es, err := m.List(ctx, Query{Sources: []string{source}, Limit: MaxQueryLimit})
	if err != nil {
		return Entry{}, err
	}
	return find(es, id, func() ([]Entry, error) { return m.all(source) })
}

// all returns every live entry of a source (Get's fallback past the
// first page).
func (m *Memory) all(source string) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[source]
	if l == nil {
		return nil, nil
	}
	out := make([]Entry, 0, len(l.elems))
	for _, b := range l.elems {
		e, err := decodeElement(b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// find looks id up in first, then in what more returns.
func find(first []Entry, id string, more func() ([]Entry, error)) (Entry, error) {
	for _, e := range first {
		if e.ID == id {
			return e, nil
		}
	}
	rest, err := more()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range rest {
		if e.ID == id {
			return e, nil
		}
	}
	return Entry{}, ErrNotFound
}
