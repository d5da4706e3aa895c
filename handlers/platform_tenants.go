package handlers

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/platform"
)

// tenantList shows the platform admin every customer tenant.
func (h *Handlers) tenantList(c *fiber.Ctx) error {
	ts, err := h.tenants.List(c.UserContext())
	if err != nil {
		return err
	}
	csrf := h.sessions.CSRFToken(c)
	rows := make([]platform.TenantRow, len(ts))
	for i, t := range ts {
		rows[i] = h.tenantRow(c, t, csrf)
	}
	return h.page(c, fiber.StatusOK, "Tenants", platform.Tenants(rows))
}

// tenantSetStatus suspends or re-activates a tenant.
func (h *Handlers) tenantSetStatus(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	status := c.FormValue("status")
	if status != models.TenantActive && status != models.TenantSuspended {
		return fiber.NewError(fiber.StatusBadRequest, `status must be "active" or "suspended"`)
	}
	if err := h.tenants.SetStatus(c.UserContext(), id, status); err != nil {
		if err == models.ErrNotFound {
			return fiber.ErrNotFound
		}
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: id})
	u := auth.User(c)
	err = h.audit.Record(c.UserContext(), models.AuditEntry{
		TenantID: models.PlatformTenantID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditTenantStatus, Target: fmt.Sprintf("tenant:%d", id),
		IP: h.clientIP(c), RequestID: requestID(c), Details: []byte(fmt.Sprintf(`{"status":%q}`, status)),
	})
	if err != nil {
		return err
	}
	ts, err := h.tenants.List(c.UserContext())
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id {
			return h.fragment(c, fiber.StatusOK, platform.TenantRowView(h.tenantRow(c, t, h.sessions.CSRFToken(c))))
		}
	}
	return fiber.ErrNotFound
}

func (h *Handlers) tenantRow(c *fiber.Ctx, t models.TenantSummary, csrf string) platform.TenantRow {
	return platform.TenantRow{
		ID: t.ID, Name: t.Name, Slug: t.Slug, URL: h.hosts.TenantURL(c, t.Tenant), Domains: t.Domains,
		Status: t.Status, Users: t.Users, CSRF: csrf, Suspended: t.Suspended(),
	}
}
