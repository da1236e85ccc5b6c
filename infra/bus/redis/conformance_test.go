package redis

import (
	"testing"

	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/bustest"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// TestConformance runs the shared suite on one redis-server; every bus the
// suite asks for gets its own key prefix (from the subtest's name), so no
// state leaks between subtests.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	bustest.Run(t, func(t *testing.T, opts bus.Options) bus.Bus {
		return newTestBus(t, srv, func(o *Options) { o.Bus = opts })
	})
}
