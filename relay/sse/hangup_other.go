//go:build !linux

package sse

import (
	"errors"
	"net"

	"github.com/hookrelay/hookrelay/relay/hub"
)

// hangups: only Linux watches idle streams' sockets (hangup_linux.go);
// elsewhere a closed client is found by the next heartbeat write.
type hangups struct{}

func newHangups() (*hangups, error) { return nil, errors.New("sse: no epoll on this platform") }

func (w *hangups) watch(*hub.Client, net.Conn) {}
