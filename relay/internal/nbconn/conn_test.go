package nbconn_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/relay/internal/nbconn"
)

// pair returns both ends of a real loopback TCP connection with small
// socket buffers, so that a peer that does not read fills them quickly.
func pair(t *testing.T) (server *net.TCPConn, client *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	s, c := sc.(*net.TCPConn), cc.(*net.TCPConn)
	_ = s.SetWriteBuffer(4096) // the kernel rounds up; small is what matters
	_ = c.SetReadBuffer(4096)
	t.Cleanup(func() { s.Close(); c.Close() })
	return s, c
}

// fill writes chunks of p to w until w reports a stall, returning every
// byte written in order. It fails the test if the socket never fills.
func fill(t *testing.T, w *nbconn.Conn, chunk int) []byte {
	t.Helper()
	var sent []byte
	for i := 0; !w.Stalled(); i++ {
		if i > 100000 {
			t.Fatal("socket never filled")
		}
		p := bytes.Repeat([]byte{byte('a' + i%26)}, chunk)
		n, err := w.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("write %d: n=%d err=%v", i, n, err)
		}
		sent = append(sent, p...)
	}
	return sent
}

func TestWriteNeverWaitsAndFlushDelivers(t *testing.T) {
	s, c := pair(t)
	const timeout = 300 * time.Millisecond
	w := nbconn.New(s, timeout)
	if w.Stalled() {
		t.Fatal("a fresh TCP conn is stalled")
	}
	start := time.Now()
	sent := fill(t, w, 1500)
	// Writes made while stalled are kept in order behind the backlog.
	tail := []byte("tail")
	if n, err := w.Write(tail); err != nil || n != len(tail) {
		t.Fatalf("write behind backlog: n=%d err=%v", n, err)
	}
	sent = append(sent, tail...)
	t.Logf("stalled after %d bytes in %s without reading", len(sent), time.Since(start))

	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, int64(len(sent))))
		got <- b
	}()
	if err := w.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if w.Stalled() {
		t.Fatal("still stalled after a flush")
	}
	if b := <-got; !bytes.Equal(b, sent) {
		t.Fatalf("peer got %d bytes, want %d in order", len(b), len(sent))
	}
	// The flush's deadline was cleared: a write after the time it would
	// have passed still goes through.
	time.Sleep(timeout + 50*time.Millisecond)
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatalf("write after flush: %v", err)
	}
}

func TestFlushTimesOutOnAPeerThatDoesNotRead(t *testing.T) {
	s, _ := pair(t)
	w := nbconn.New(s, 50*time.Millisecond)
	fill(t, w, 1500)
	// More than any socket buffer on the way can absorb.
	if _, err := w.Write(make([]byte, 512<<10)); err != nil {
		t.Fatal(err)
	}
	err := w.Flush()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush to a peer that never reads: %v, want deadline exceeded", err)
	}
	// The error sticks: the connection is done.
	if _, err2 := w.Write([]byte("x")); err2 == nil {
		t.Fatal("write after a failed flush succeeded")
	}
}

func TestBacklogIsBounded(t *testing.T) {
	s, _ := pair(t)
	w := nbconn.New(s, time.Second)
	fill(t, w, 1500)
	p := make([]byte, 64<<10)
	var err error
	for i := 0; i < nbconn.MaxBacklog/len(p)+2 && err == nil; i++ {
		_, err = w.Write(p)
	}
	if !errors.Is(err, nbconn.ErrBacklogFull) {
		t.Fatalf("writes behind a full backlog: %v, want ErrBacklogFull", err)
	}
}

func TestWriteToClosedPeerFails(t *testing.T) {
	s, c := pair(t)
	w := nbconn.New(s, time.Second)
	_ = c.SetLinger(0)
	c.Close() // RST: the next writes fail
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = w.Write([]byte("hello"))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a reset connection kept succeeding")
	}
}

// A conn without a file descriptor cannot be written without waiting: it
// is always Stalled (the hub gives it its own writer) and writes wait, up
// to the timeout.
func TestConnWithoutDescriptorWaits(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := nbconn.New(a, 50*time.Millisecond)
	if !w.Stalled() {
		t.Fatal("a pipe is not stalled")
	}
	go func() {
		buf := make([]byte, 5)
		_, _ = io.ReadFull(b, buf)
	}()
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatalf("write to a reading pipe: %v", err)
	}
	if _, err := w.Write([]byte("again")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write nobody reads: %v, want deadline exceeded", err)
	}
	if err := w.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush after a failed write: %v", err)
	}
}

// fdOf returns c's descriptor number.
func fdOf(t *testing.T, c *net.TCPConn) uintptr {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := raw.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestClosedConnNeverWritesAReusedDescriptor: Write issues write(2) on the
// socket's descriptor number; once Close ran, that number may belong to a
// new connection, which must never receive the old one's bytes. RawConn's
// fd lock guarantees it today; this guards any cheaper write path (one
// that wrote to the bare number was tried and measured no faster).
func TestClosedConnNeverWritesAReusedDescriptor(t *testing.T) {
	s, _ := pair(t)
	old := fdOf(t, s)
	w := nbconn.New(s, time.Second)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The kernel hands out the lowest free number: the next socket opened
	// (here, one end of a fresh pair) usually gets the one just freed.
	var reused *net.TCPConn
	var peer *net.TCPConn
	for i := 0; i < 4 && reused == nil; i++ {
		s2, c2 := pair(t)
		switch old {
		case fdOf(t, s2):
			reused, peer = s2, c2
		case fdOf(t, c2):
			reused, peer = c2, s2
		}
	}
	if reused == nil {
		t.Skip("descriptor not reused by the next sockets")
	}
	if _, err := w.Write([]byte("stale")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := peer.Read(make([]byte, 16)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection now on the old descriptor got %d bytes (err %v)", n, err)
	}
}

// TestCloseDuringWrites: Close from another goroutine while writes run
// (as the hub's kick or a drain does) ends them with an error, never a
// write to a closed or reused descriptor (-race checks the locking).
func TestCloseDuringWrites(t *testing.T) {
	s, c := pair(t)
	go func() { _, _ = io.Copy(io.Discard, c) }()
	w := nbconn.New(s, time.Second)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := w.Write([]byte("data: x\n\n")); err != nil {
				done <- err
				return
			}
			if w.Stalled() {
				if err := w.Flush(); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	time.Sleep(10 * time.Millisecond) // let some writes through first
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("writes ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writes went on after Close")
	}
}
