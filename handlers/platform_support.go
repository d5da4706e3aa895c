package handlers

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/layouts"
	"github.com/learnlens/learnlens/views/pages/platform"
)

// supportMinutes are the lengths of support access a platform admin may
// choose.
var supportMinutes = []int{15, 30, 60}

// supportAllowed reports whether the signed-in platform admin may open
// support access: only after signing in with a second factor, except
// under the demo data (AdminMFAOptional), where the printed demo logins
// sign in without one.
func (h *Handlers) supportAllowed(c *fiber.Ctx) bool {
	return h.cfg.AdminMFAOptional || h.sessions.SignedInWithMFA(c)
}

// startSupport opens support access to a tenant: it writes the platform's
// audit log and hands a one-time ticket over to the tenant's host, which
// starts the read-only session there (redeemSupportTicket).
func (h *Handlers) startSupport(c *fiber.Ctx) error {
	t, err := h.customerTenant(c)
	if err != nil {
		return err
	}
	minutes, err := strconv.Atoi(c.FormValue("minutes"))
	if err != nil || !slices.Contains(supportMinutes, minutes) {
		return fiber.NewError(fiber.StatusBadRequest, "minutes must be one of 15, 30 or 60")
	}
	if !h.supportAllowed(c) {
		return fiber.NewError(fiber.StatusForbidden, "support access needs a sign-in with two-step verification; set it up at /account/mfa and sign in again")
	}
	if t.Suspended() {
		return fiber.NewError(fiber.StatusConflict, t.Name+" is suspended; support access opens only to an active organisation")
	}
	u := auth.User(c)
	until := time.Now().Add(time.Duration(minutes) * time.Minute).Truncate(time.Second)
	ticket, err := h.links.SupportTicket(c.UserContext(), t.ID, until, models.Creator{ID: u.ID, Email: u.Email})
	if err != nil {
		return err
	}
	if err := h.platformAudit(c, models.AuditSupportOpened, t.ID, map[string]any{"until": until.UTC(), "minutes": minutes}); err != nil {
		return err
	}
	url := h.hosts.TenantURL(c, t)
	allowFormAction(c, url)
	return h.page(c, fiber.StatusOK, "Support access", platform.SupportHandOver(t.Name, url+"/support/ticket", ticket))
}

// redeemSupportTicket starts support access on the tenant's host. Like
// redeemLoginTicket it takes no CSRF token (the bare domain cannot know
// the host's) but only a POST from the bare domain's own page, with a
// single-use ticket.
func (h *Handlers) redeemSupportTicket(c *fiber.Ctx) error {
	if !h.fromPlatformOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "support access can only be opened from the platform's tenant page")
	}
	tenant := auth.Tenant(c)
	l, err := h.links.RedeemSupport(c.UserContext(), tenant.ID, c.FormValue("t"))
	if errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrLinkGone) {
		return fiber.NewError(fiber.StatusBadRequest, "that support access link has expired or was used; open support access again")
	}
	if err != nil {
		return err
	}
	admin, err := h.users.ByID(c.UserContext(), models.PlatformTenantID, *l.CreatedByID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && admin.Status != models.UserActive) {
		return fiber.NewError(fiber.StatusForbidden, "the platform admin's account is not active")
	}
	if err != nil {
		return err
	}
	if err := h.sessions.BeginSupport(c, admin, *l.SupportUntil); err != nil {
		return err
	}
	err = h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: tenant.ID, ActorUserID: &admin.ID, ActorEmail: admin.Email,
		Action: models.AuditSupportStarted, Target: "tenant:" + strconv.FormatInt(tenant.ID, 10), IP: h.clientIP(c), RequestID: requestID(c),
		Details: jsonDetails(map[string]any{"until": l.SupportUntil.UTC(), "platform_admin": true})})
	if err != nil {
		return err
	}
	return htmx.Redirect(c, "/")
}

// endSupport ends support access before its time, in both audit logs, and
// links the platform admin back to the tenant's page on the bare domain (a
// link, not a redirect: the form's Content-Security-Policy allows posting
// to this host only, redirects included).
func (h *Handlers) endSupport(c *fiber.Ctx) error {
	sa := auth.Support(c)
	if sa == nil {
		return fiber.ErrNotFound
	}
	tenant := auth.Tenant(c)
	if err := h.sessions.SignOut(c); err != nil {
		return err
	}
	for _, log := range []int64{tenant.ID, models.PlatformTenantID} {
		err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: log, ActorUserID: &sa.AdminID, ActorEmail: sa.AdminEmail,
			Action: models.AuditSupportEnded, Target: "tenant:" + strconv.FormatInt(tenant.ID, 10), IP: h.clientIP(c), RequestID: requestID(c)})
		if err != nil {
			return err
		}
	}
	back := h.hosts.PlatformURL(c) + "/platform/tenants/" + strconv.FormatInt(tenant.ID, 10)
	return h.page(c, fiber.StatusOK, "Support access ended", platform.SupportEnded(tenant.Name, back))
}

// supportBanner is the banner every page shows under support access.
func (h *Handlers) supportBanner(c *fiber.Ctx) *layouts.SupportBanner {
	sa := auth.Support(c)
	if sa == nil {
		return nil
	}
	return &layouts.SupportBanner{Admin: sa.Admin + " (" + sa.AdminEmail + ")",
		Until: sa.Until.In(tenantLocation(auth.Tenant(c))).Format("15:04 MST"), CSRF: h.sessions.CSRFToken(c)}
}
