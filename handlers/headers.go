package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
)

// securityHeaders is middleware that sets, on every response, the headers
// that need nothing of the page: no framing by any site (clickjacking), no
// MIME sniffing, and a referrer that names only the origin across sites.
// strict-origin-when-cross-origin also keeps the Origin header on the
// sign-in hand-over's cross-origin POST (see redeemLoginTicket), which
// "no-referrer" or "same-origin" would turn into "null".
// Behind HTTPS (SECURE_COOKIES=true) it also sets Strict-Transport-Security,
// so browsers never use plain HTTP for the host again.
func securityHeaders(https bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
		if https {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000")
		}
		return c.Next()
	}
}

type formActionKey struct{}

// allowFormAction lets the page being rendered post a form to origin as
// well as to its own (the sign-in hand-over posts to the tenant's host).
func allowFormAction(c *fiber.Ctx, origin string) { c.Locals(formActionKey{}, origin) }

// withCSP sets the Content-Security-Policy of an HTML response and returns
// ctx carrying its nonce for templ. Scripts and styles load only from this
// origin, plus <script> and <style> elements in the page that carry the
// per-request nonce (the tenant's brand colour); no eval, no event handler
// or style attributes, no plugins, no <base>, and no framing. (Comments in
// handlers/ are scanned by Tailwind: the word for "in the page" there
// would emit an unused CSS class.)
func withCSP(ctx context.Context, c *fiber.Ctx) context.Context {
	nonce := newNonce()
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy(c, nonce))
	return templ.WithNonce(ctx, nonce)
}

func newNonce() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// contentSecurityPolicy is the policy of an HTML page with nonce.
func contentSecurityPolicy(c *fiber.Ctx, nonce string) string {
	formAction := "'self'"
	if extra, _ := c.Locals(formActionKey{}).(string); extra != "" {
		formAction += " " + extra
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' 'nonce-" + nonce + "'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"img-src 'self' data:",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action " + formAction,
		"frame-ancestors 'none'",
	}, "; ")
}
