package handlers

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// trustedProxies parses TRUSTED_PROXIES (validated by config) into
// prefixes; a bare address is a one-address prefix.
func trustedProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

func (h *Handlers) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range h.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address of the client a request comes from, for the
// sign-in throttles, the audit log and the request log. It is the TCP
// peer, unless the peer is a trusted proxy: then it is the right-most
// address in X-Forwarded-For that is not a trusted proxy itself. The
// left-most entries are whatever the client chose to send, so taking the
// first (as Fiber's ProxyHeader does) would let anyone pick their address
// and walk past the per-address throttle.
func (h *Handlers) clientIP(c *fiber.Ctx) string {
	peer := c.Context().RemoteIP().String()
	addr, err := netip.ParseAddr(peer)
	if err != nil || !h.trusted(addr) {
		return peer
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing to its left
		}
		if !h.trusted(a) {
			return a.Unmap().String()
		}
	}
	return peer
}
