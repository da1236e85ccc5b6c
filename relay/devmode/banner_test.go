package devmode

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/hookrelay/hookrelay/infra/auth"
)

// TestLoopbackOnly: relay dev without a token key admits only clients on
// this machine, whatever address it listens on.
func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:5000": true, "127.9.8.7:1": true, "[::1]:80": true,
		"10.0.0.1:5000": false, "[2001:db8::1]:80": false, "garbage": false,
	} {
		r := httptest.NewRequest("GET", "/v1/sse?topic=a", nil)
		r.RemoteAddr = addr
		g, err := LoopbackOnly{}.Authenticate(context.Background(), r)
		if ok != (err == nil) {
			t.Errorf("%s: grants %v err %v", addr, g, err)
		}
		if !ok && !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("%s: %v does not wrap ErrNoCredentials (401)", addr, err)
		}
		if ok && !g.CanSubscribe("order:1") {
			t.Errorf("%s: loopback client lacks grants", addr)
		}
	}
}

func TestDisplayAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:8080": "127.0.0.1:8080", "[::]:9000": "127.0.0.1:9000", "127.0.0.1:8080": "127.0.0.1:8080", "192.0.2.1:80": "192.0.2.1:80",
	} {
		a, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := displayAddr(a); got != want {
			t.Errorf("displayAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
