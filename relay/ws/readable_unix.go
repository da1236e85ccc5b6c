//go:build linux || darwin || freebsd || netbsd || openbsd

package ws

import (
	"net"
	"syscall"
)

// rawConnOf returns conn's file descriptor access, nil if it has none
// (the reader then parks in ReadMessage as plain gorilla code does).
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable blocks until the socket has bytes, EOF or an error to
// report, the read deadline passes (os.ErrDeadlineExceeded) or the conn is
// closed. The poller is edge-triggered and may have fired before we got
// here, so it first peeks without blocking, as net.Conn.Read does.
func waitReadable(raw syscall.RawConn) error {
	return raw.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			// EAGAIN: nothing yet, wait for the poller. Anything else
			// (data, EOF, an error) is for the next real read to report.
			return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		}
	})
}
