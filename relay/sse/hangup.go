package sse

import (
	"net"
	"sync"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// hangupWatch is the handler's epoll set of hijacked streams
// (hangup_linux.go), made on first use; nil where it is unavailable.
type hangupWatch struct {
	once sync.Once
	w    *hangups
}

// watchHangup closes c as soon as the peer of its hijacked conn hangs up,
// rather than at the next heartbeat write.
func (s *handler) watchHangup(c *hub.Client, conn net.Conn) {
	s.hang.once.Do(func() {
		w, err := newHangups()
		if err != nil {
			s.log.Debug("sse: closed streams are found by heartbeats only", "err", err)
			return
		}
		s.hang.w = w
	})
	if s.hang.w != nil {
		s.hang.w.watch(c, conn)
	}
}
