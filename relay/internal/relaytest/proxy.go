package relaytest

import (
	"testing"

	"github.com/hookrelay/hookrelay/infra/testkit/tcpproxy"
)

// Proxy is a TCP forwarder standing in for the load balancer: clients
// connect to Proxy.URL and each new connection goes to the current target.
// Moving the target and draining or killing the old relay moves clients
// the way a deregistration does.
type Proxy = tcpproxy.Proxy

// NewProxy listens on a free 127.0.0.1 port and forwards to target
// (host:port). It is closed at test cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return tcpproxy.New(t, target)
}
