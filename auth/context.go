package auth

import (
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

type localKey int

const (
	tenantKey localKey = iota
	userKey
	supportKey
)

// Tenant returns the tenant the request's host serves: a customer, or the
// platform realm on the bare base domain. Only routes behind ResolveTenant
// may call it.
func Tenant(c *fiber.Ctx) models.Tenant {
	t, ok := c.Locals(tenantKey).(models.Tenant)
	if !ok {
		panic("auth.Tenant called on a route without ResolveTenant")
	}
	return t
}

// User returns the signed-in user of the request's tenant, or nil.
func User(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(userKey).(*models.User)
	return u
}

func setTenant(c *fiber.Ctx, t models.Tenant) { c.Locals(tenantKey, t) }
func setUser(c *fiber.Ctx, u *models.User)    { c.Locals(userKey, u) }

// LookupTenant is Tenant for code that also runs before tenant resolution
// (the error handler): ok is false when the host was not resolved.
func LookupTenant(c *fiber.Ctx) (t models.Tenant, ok bool) {
	t, ok = c.Locals(tenantKey).(models.Tenant)
	return t, ok
}

// Support returns the support access the request is made under, or nil
// when it is an ordinary user's.
func Support(c *fiber.Ctx) *SupportAccess {
	sa, _ := c.Locals(supportKey).(*SupportAccess)
	return sa
}

func setSupport(c *fiber.Ctx, sa *SupportAccess) { c.Locals(supportKey, sa) }
