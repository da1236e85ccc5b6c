package api

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// ConcurrencyLimiter caps concurrent holders per key (*limit.Concurrent
// implements it).
type ConcurrencyLimiter interface {
	Acquire(key string) (release func(), ok bool)
}

// perIP holds a connection slot per client address for the life of a
// stream. The transports hijack their connections and return early, so
// the slot cannot be released when the handler returns: the
// ResponseWriter is wrapped so that a hijacked connection gives its slot
// back when it is closed, and a stream that was not hijacked (HTTP/2)
// gives it back when its handler returns.
func (s *server) perIP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	key := s.ClientIP(r)
	release, ok := s.ConnLimit.Acquire(key)
	if !ok {
		s.refuse(w, r, next, NewRefusal(RefuseRateLimited),
			RateLimited(CapacityRetryAfter, "too many open connections from this address (HOOKRELAY_CONNECTIONS_PER_IP)"))
		return
	}
	var once sync.Once
	free := func() { once.Do(release) }
	hw := &hijackWriter{ResponseWriter: w, free: free}
	next.ServeHTTP(hw, r)
	if !hw.hijacked {
		free()
	}
}

// hijackWriter passes everything through (ResponseController finds
// Flush and deadlines through Unwrap) and wraps a hijacked connection.
type hijackWriter struct {
	http.ResponseWriter
	free     func()
	hijacked bool
}

func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Hijack takes over the connection; closing it releases the slot.
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.hijacked = true
	return &releasingConn{Conn: c, free: h.free}, rw, nil
}

// releasingConn frees its slot on the first Close.
type releasingConn struct {
	net.Conn
	free func()
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.free()
	return err
}

// SyscallConn passes the socket's descriptor through: relay/sse and
// relay/ws write without waiting (relay/internal/nbconn) and park idle
// WebSocket readers in epoll through it, and fall back to a goroutine and
// a deadline per write and per reader when a conn has none.
func (c *releasingConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("hijacked connection has no file descriptor")
	}
	return sc.SyscallConn()
}
