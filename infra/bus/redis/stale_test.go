package redis

import (
	"context"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
)

// blackholeProxy forwards TCP to target until Freeze, after which every
// connection open at that moment silently swallows bytes both ways (a
// network partition without RST). Later connections work normally.
type blackholeProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen []*atomic.Bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{l: l, target: target}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

func (p *blackholeProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		frozen := new(atomic.Bool)
		p.mu.Lock()
		p.frozen = append(p.frozen, frozen)
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go pipe(up, c, frozen)
		go pipe(c, up, frozen)
	}
}

func pipe(dst io.Writer, src io.Reader, frozen *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *blackholeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		f.Store(true)
	}
}

func (p *blackholeProxy) close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestSilentConnectionReplaced: the pub/sub connection stops carrying bytes
// without being closed. The ping deadline notices, the connection is
// replaced, and events published meanwhile are read from the stream.
func TestSilentConnectionReplaced(t *testing.T) {
	srv := redistest.Start(t)
	p := startProxy(t, srv.Addr())
	sub := newTestBus(t, srv, func(o *Options) {
		o.URL = "redis://" + p.l.Addr().String()
		o.PingInterval = 200 * time.Millisecond
		o.ReadTimeout = 500 * time.Millisecond
	})
	pub := newTestBus(t, srv, nil) // direct, unaffected
	r := newRecorder()
	s, err := sub.Subscribe(context.Background(), []string{"silent"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := publishN(t, pub, "silent", 0, 3)
	r.waitFor(t, 3, 2*time.Second)
	p.freeze()
	want = append(want, publishN(t, pub, "silent", 3, 3)...)
	got := r.waitFor(t, 6, 5*time.Second)
	if !slices.Equal(deliveredIDs(got), want) {
		t.Fatalf("delivered %v, want %v", deliveredIDs(got), want)
	}
	if sub.Stats().Resubscribes == 0 {
		t.Fatal("silent connection not replaced")
	}
}
