package auth

import (
	"errors"
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/htmx"
)

// ErrForbidden is returned when a signed-in user lacks the role a route needs.
var ErrForbidden = errors.New("your role does not give access to this page")

// ErrNoTokens refuses an API client's token on a route that is for people.
var ErrNoTokens = errors.New("this address does not take API access tokens")

// RequireRole is middleware that lets through only signed-in users of this
// host's tenant with one of roles. Anonymous visitors are sent to the login
// page (or get 401 on JSON routes); other roles get 403, and so do API
// clients' tokens: routes that take them say so with their scope instead.
func RequireRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if Client(c) != nil {
			return fiber.NewError(fiber.StatusForbidden, ErrNoTokens.Error())
		}
		u := User(c)
		if u == nil {
			return RequireLogin(c)
		}
		if !slices.Contains(roles, u.Role) {
			return fiber.NewError(fiber.StatusForbidden, ErrForbidden.Error())
		}
		return c.Next()
	}
}

// RequireLogin is middleware that lets through any signed-in user, but not
// an API client's token (see RequireRole).
func RequireLogin(c *fiber.Ctx) error {
	if Client(c) != nil {
		return fiber.NewError(fiber.StatusForbidden, ErrNoTokens.Error())
	}
	if User(c) != nil {
		return c.Next()
	}
	if c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		return fiber.NewError(fiber.StatusUnauthorized, "sign in first")
	}
	next := c.OriginalURL()
	if c.Method() != fiber.MethodGet || htmx.IsRequest(c) {
		next = "/"
	}
	return htmx.Redirect(c, "/login?next="+url.QueryEscape(next))
}
