package proxy

import (
	"net/netip"
)

// trustedProxies are the load balancers of trusted_proxies: a request that
// comes straight from one of them keeps the X-Forwarded-For it carries,
// and oidcgate adds the load balancer's address after it. From anyone else
// the header is replaced by the sender's address alone, so no client can
// choose the address a backend sees.
type trustedProxies []netip.Prefix

// has reports whether remoteAddr (an http.Request's, "ip:port") is one of
// the trusted proxies.
func (t trustedProxies) has(remoteAddr string) bool {
	if len(t) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range t {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
