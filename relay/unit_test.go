package main

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
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
		g, err := loopbackOnly{}.Authenticate(context.Background(), r)
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

// TestBenchNeedsTheTool: the relay links no load generator; without
// relaybench beside it or on PATH, `relay bench` says how to build it.
func TestBenchNeedsTheTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out strings.Builder
	if code := run(context.Background(), []string{"bench", "--conns", "1"}, env{stdout: &out, stderr: &out}); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "go build -o") || !strings.Contains(out.String(), "relay/bench/cmd/relaybench") {
		t.Errorf("no build hint: %s", out.String())
	}
}
