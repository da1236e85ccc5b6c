//go:build !linux || !(amd64 || arm64)

package bench

import "net"

// streamReader is for 64-bit Linux only (epoll, recvmsg and the 64-bit
// layout of its control message); elsewhere each subscriber keeps its own
// reading goroutine.
type streamReader struct{}

type stream struct{ done chan error }

func (w *worker) streamReader(*sub) *streamReader { return nil }

func (*streamReader) add(net.Conn, []byte, *int64, func(int) func([]byte) error) (*stream, error) {
	panic("unreachable: streamReader returns nil")
}

func writeFD(int, []byte) error { panic("unreachable: streamReader returns nil") }

func (*streamReader) remove(*stream) {}
