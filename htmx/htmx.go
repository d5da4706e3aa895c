// Package htmx keeps the names of htmx's request and response headers and
// the few decisions that depend on them in one place.
package htmx

import "github.com/gofiber/fiber/v2"

// Request and response headers of htmx 2.
const (
	HeaderRequest        = "HX-Request"
	HeaderTarget         = "HX-Target" // the id of the element a request's answer replaces
	HeaderBoosted        = "HX-Boosted"
	HeaderHistoryRestore = "HX-History-Restore-Request"
	HeaderRedirect       = "HX-Redirect"
	HeaderRetarget       = "HX-Retarget"
	HeaderReswap         = "HX-Reswap"
	HeaderReselect       = "HX-Reselect"
)

// IsRequest reports whether c came from htmx (not a boosted navigation or a
// history restore, which want the whole page).
func IsRequest(c *fiber.Ctx) bool {
	return c.Get(HeaderRequest) == "true" && c.Get(HeaderBoosted) != "true" && c.Get(HeaderHistoryRestore) != "true"
}

// Redirect sends the browser to url: with HX-Redirect for htmx requests
// (which would otherwise swap the target page into the fragment) and a 303
// otherwise.
func Redirect(c *fiber.Ctx, url string) error {
	if c.Get(HeaderRequest) == "true" {
		c.Set(HeaderRedirect, url)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(url, fiber.StatusSeeOther)
}
