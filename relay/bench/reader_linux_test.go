//go:build linux && (amd64 || arm64)

package bench

import (
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// loopbackPair returns the two ends of a real loopback TCP connection and
// the accepted end's file descriptor (non-blocking, as the runtime leaves it).
func loopbackPair(t *testing.T) (client net.Conn, server net.Conn, fd int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return client, server, fd
}

// recvAll retries recv until data arrives (the socket is non-blocking).
func recvAll(t *testing.T, rb *recvBuf, fd int) (string, int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, rx, err := rb.recv(fd)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		return string(rb.buf[:n]), rx
	}
	t.Fatal("no data within 5s")
	return "", 0
}

func TestRecvTimestamp(t *testing.T) {
	client, _, fd := loopbackPair(t)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	rb := newRecvBuf(1024)
	// The first socket on a host to ask for timestamps turns them on from
	// a kernel work queue, a moment later: segments received before carry
	// none. The bench asks at connect, long before the first publish.
	for try := 0; try < 100; try++ {
		before := time.Now().UnixNano()
		if _, err := client.Write([]byte("data: one\n\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // so that the read time and the receive time differ
		got, rx := recvAll(t, rb, fd)
		read := time.Now().UnixNano()
		if got != "data: one\n\n" {
			t.Fatalf("read %q", got)
		}
		if rx == 0 {
			continue
		}
		// 10 of the 20 ms: on a busy machine the kernel may run the
		// loopback receive a little after the write returned.
		if rx < before || rx > read-int64(10*time.Millisecond) {
			t.Fatalf("receive timestamp %d not between the write (%d) and 10ms before the read (%d)", rx, before, read)
		}
		return
	}
	t.Fatal("no receive timestamp in 100 reads with SO_TIMESTAMPNS on")
}

func TestRecvWithoutTimestamp(t *testing.T) {
	client, _, fd := loopbackPair(t)
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, rx := recvAll(t, newRecvBuf(16), fd); got != "x" || rx != 0 {
		t.Fatalf("read %q, timestamp %d: want \"x\" and none", got, rx)
	}
}

// FuzzControlMessage feeds timestamp arbitrary control data: it must find
// nothing or a timestamp, never read past what recvmsg returned.
func FuzzControlMessage(f *testing.F) {
	good := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, timespec(1_700_000_000, 5))
	f.Add(good)
	f.Add(good[:syscall.SizeofCmsghdr])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		rb := newRecvBuf(1)
		n := copy(rb.oob[:], oob)
		rb.msg.SetControllen(n)
		got := rb.timestamp()
		// Where the standard library's parser accepts the data, both must
		// find the same first SCM_TIMESTAMPNS (or none).
		msgs, err := syscall.ParseSocketControlMessage(oob[:n])
		if err != nil {
			return
		}
		var want int64
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				want = (*syscall.Timespec)(unsafe.Pointer(&m.Data[0])).Nano()
				break
			}
		}
		if got != want {
			t.Fatalf("timestamp %d, the standard library's parser finds %d", got, want)
		}
	})
}

// timespec is a struct timespec's bytes, the payload of SCM_TIMESTAMPNS.
func timespec(sec, nsec int64) []byte {
	b := make([]byte, unsafe.Sizeof(syscall.Timespec{}))
	*(*syscall.Timespec)(unsafe.Pointer(&b[0])) = syscall.Timespec{Sec: sec, Nsec: nsec}
	return b
}

// cmsg builds one control message as the kernel lays it out, padded.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, syscall.SizeofCmsghdr, syscall.CmsgSpace(len(data)))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(syscall.CmsgLen(len(data)))
	b = append(b, data...)
	return b[:cap(b)]
}

func TestTimestampParse(t *testing.T) {
	ts := timespec(12, 34)
	tsMsg := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts)
	for _, c := range []struct {
		name string
		oob  []byte
		want int64
	}{
		{"alone", tsMsg, 12e9 + 34},
		{"after another message", append(cmsg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{1, 2, 3, 4}), tsMsg...), 12e9 + 34},
		{"other level", cmsg(syscall.IPPROTO_TCP, syscall.SCM_TIMESTAMPNS, ts), 0},
		{"truncated", tsMsg[:len(tsMsg)-1], 0},
		{"none", nil, 0},
	} {
		rb := newRecvBuf(1)
		rb.msg.SetControllen(copy(rb.oob[:], c.oob))
		if got := rb.timestamp(); got != c.want {
			t.Errorf("%s: timestamp %d, want %d", c.name, got, c.want)
		}
	}
}
