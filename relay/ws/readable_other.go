//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package ws

import (
	"net"
	"syscall"
)

// rawConnOf: without a portable non-blocking peek the reader parks in
// ReadMessage (an idle connection keeps a 4 KiB stack).
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) error { return nil }
