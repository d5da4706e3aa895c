package auth

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// Session keys of a platform admin's support access to a tenant: which
// platform admin, and until when (Unix seconds).
const (
	sessionSupportAdminKey = "support_admin_id"
	sessionSupportUntilKey = "support_until"
)

// SupportRole is the role a platform admin has on a tenant's host during
// support access: every dashboard, read-only, no admin pages.
const SupportRole = models.RoleAnalyst

// SupportAccess is a platform admin's time-limited, read-only look at a
// tenant's dashboards.
type SupportAccess struct {
	AdminID           int64
	AdminEmail, Admin string // the platform admin's email and name
	Until             time.Time
}

// BeginSupport starts, on the tenant's host, a session of support access
// for platform admin admin that ends at until: a fresh token, no user of
// the tenant in it.
func (s *Sessions) BeginSupport(c *fiber.Ctx, admin models.User, until time.Time) error {
	ctx := c.UserContext()
	if err := s.manager.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	for _, k := range []string{sessionUserKey, sessionMFAUserKey, sessionMFASinceKey, sessionMFAFailedKey, sessionWithMFAKey} {
		s.manager.Remove(ctx, k)
	}
	s.manager.Put(ctx, sessionTenantKey, Tenant(c).ID)
	s.manager.Put(ctx, sessionSupportAdminKey, admin.ID)
	s.manager.Put(ctx, sessionSupportUntilKey, until.Unix())
	s.manager.Put(ctx, sessionSignedInKey, time.Now().UnixNano())
	s.manager.Put(ctx, sessionCSRFKey, newToken())
	c.Locals(sessionChangedKey{}, true)
	return s.loadSupport(c)
}

// loadSupport makes the request's user the support access's stand-in (the
// platform admin, with SupportRole, in the tenant) while it lasts. Past
// its deadline, or once the platform admin's account is gone or disabled,
// the session ends and the request is anonymous.
func (s *Sessions) loadSupport(c *fiber.Ctx) error {
	ctx := c.UserContext()
	tenant := Tenant(c)
	if s.manager.GetInt64(ctx, sessionTenantKey) != tenant.ID {
		return nil
	}
	until := time.Unix(s.manager.GetInt64(ctx, sessionSupportUntilKey), 0)
	if !time.Now().Before(until) {
		return s.manager.Destroy(ctx)
	}
	id := s.manager.GetInt64(ctx, sessionSupportAdminKey)
	admin, err := s.cache.user(models.PlatformTenantID, id, func() (models.User, error) {
		return s.users.ByID(ctx, models.PlatformTenantID, id)
	})
	if errors.Is(err, models.ErrNotFound) || (err == nil && (admin.Status != models.UserActive || admin.Role != models.RolePlatformAdmin)) {
		return s.manager.Destroy(ctx)
	}
	if err != nil {
		return fmt.Errorf("load support admin: %w", err)
	}
	setUser(c, &models.User{TenantID: tenant.ID, Email: admin.Email, Name: admin.Name + " (LearnLens support)",
		Role: SupportRole, Status: models.UserActive})
	setSupport(c, &SupportAccess{AdminID: admin.ID, AdminEmail: admin.Email, Admin: admin.Name, Until: until})
	return nil
}

// ErrSupportReadOnly refuses a change made under support access.
var ErrSupportReadOnly = errors.New("support access is read-only: nothing can be changed with it")

// supportWrites are the only state-changing requests support access may
// make: ending it.
var supportWrites = []string{"/support/end", "/logout"}

// ReadOnlySupport is middleware that refuses, with 403, every
// state-changing request made under support access except ending it.
func ReadOnlySupport(c *fiber.Ctx) error {
	if Support(c) == nil || slices.Contains([]string{fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions}, c.Method()) ||
		slices.Contains(supportWrites, c.Path()) {
		return c.Next()
	}
	return fiber.NewError(fiber.StatusForbidden, ErrSupportReadOnly.Error())
}
