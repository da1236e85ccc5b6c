//go:build !linux

package bench

import "net"

// streamReader is Linux-only (epoll); elsewhere each SSE subscriber keeps
// its own reading goroutine.
type streamReader struct{}

type stream struct{ done chan error }

func (w *worker) streamReader(*sub) *streamReader { return nil }

func (*streamReader) add(*sub, net.Conn, []byte, bool) (*stream, error) { panic("unreachable") }

func (*streamReader) remove(*stream) {}
