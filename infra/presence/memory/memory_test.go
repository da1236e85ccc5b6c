package memory

import (
	"testing"

	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/infra/presence/presencetest"
)

func TestConformance(t *testing.T) {
	presencetest.Run(t, func(t *testing.T, o presence.Options) presence.Store {
		s := New(o)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}
