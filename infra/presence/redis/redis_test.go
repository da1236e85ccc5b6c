package redis

import (
	"fmt"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hookrelay/hookrelay/infra/presence"
	"github.com/hookrelay/hookrelay/infra/presence/presencetest"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	presencetest.Run(t, func(t *testing.T, o presence.Options) presence.Store {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		s := New(c, Options{Options: o, Prefix: fmt.Sprintf("t%d", n.Add(1)), CloseClient: true})
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}
