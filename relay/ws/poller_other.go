//go:build !linux

package ws

import "errors"

// poller: only Linux parks idle connections in epoll; elsewhere each idle
// connection keeps a goroutine waiting for its socket (readable_*.go).
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("ws: no epoll on this platform") }

func (p *poller) park(*session) bool { return false }
