package fleet

import (
	"context"
	"sync"
	"time"
)

var _ Store = (*Memory)(nil)

// Memory is the Store of one process (relay dev on the memory bus).
type Memory struct {
	now func() time.Time
	mu  sync.Mutex
	rs  map[string]Record
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{now: time.Now, rs: make(map[string]Record)} }

// Put implements Store.
func (m *Memory) Put(_ context.Context, r Record, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Expires = m.now().Add(ttl)
	m.rs[r.ID] = r
	return nil
}

// Remove implements Store.
func (m *Memory) Remove(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rs, id)
	return nil
}

// List implements Store.
func (m *Memory) List(context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]Record, 0, len(m.rs))
	for id, r := range m.rs {
		if !r.Expires.After(now) {
			delete(m.rs, id)
			continue
		}
		out = append(out, r)
	}
	return sortRecords(out), nil
}
