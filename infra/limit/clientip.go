package limit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address limits are keyed by. With trustProxy (the relay
// sits behind an ALB, which appends the address it saw to
// X-Forwarded-For) it is the LAST entry of the last X-Forwarded-For header:
// earlier entries are whatever the client sent and can be forged. Without
// trustProxy, or when that entry is not an IP, it is the peer address.
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if vals := r.Header.Values("X-Forwarded-For"); len(vals) > 0 {
			last := vals[len(vals)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return ip.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String()
	}
	return host
}

// IPKey turns a client IP into a limiter key: IPv6 addresses are grouped by
// their /64 (one subscriber line gets a whole /64, so per-address limits
// would not bind); IPv4 and non-IP strings are returned unchanged.
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
