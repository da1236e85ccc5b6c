package limit

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: no X-Forwarded-For or RemoteAddr value panics ClientIP;
// without trustProxy the header never matters; with it the answer is either
// the peer's address or an IP taken from the header's last entry.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1234", "1.2.3.4, 5.6.7.8")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		peer := ClientIP(r, false)
		r.Header.Set("X-Forwarded-For", xff)
		if got := ClientIP(r, false); got != peer {
			t.Fatalf("untrusted X-Forwarded-For changed the address: %q -> %q", peer, got)
		}
		got := ClientIP(r, true)
		if got == peer {
			return
		}
		ip, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("trusted answer %q is neither the peer %q nor an IP", got, peer)
		}
		last := xff[strings.LastIndexByte(xff, ',')+1:]
		if want, _ := netip.ParseAddr(strings.TrimSpace(last)); want.Unmap() != ip {
			t.Fatalf("trusted answer %q is not the last entry of %q", got, xff)
		}
		_ = IPKey(got) // must not panic
	})
}
