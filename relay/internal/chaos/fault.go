package chaos

import "github.com/hookrelay/hookrelay/infra/testkit/tcpproxy"

// FaultProxy is a TCP forwarder to one target that can stall, cut and
// throttle traffic: between the relays and Redis it stands in for a
// network partition (Pause: bytes stop flowing and new connections are not
// dialled, but connections stay open, so only timeouts notice), a reset
// (Cut) or a congested link; between a client and a relay it is a slow
// mobile path (SetRate). It is infra/testkit/tcpproxy, the one fault proxy
// of the repository's tests, under the names the scenarios use.
type FaultProxy struct{ *tcpproxy.Proxy }

// NewFaultProxy listens on a free 127.0.0.1 port and forwards to target.
// Call Close when done.
func NewFaultProxy(target string) (*FaultProxy, error) {
	p, err := tcpproxy.Start(target)
	if err != nil {
		return nil, err
	}
	return &FaultProxy{p}, nil
}

// Cut closes every open connection (both sides), as a reset would.
func (p *FaultProxy) Cut() { p.CloseConns() }
