package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// userList shows a tenant admin their organisation's users.
func (h *Handlers) userList(c *fiber.Ctx) error {
	inv, err := h.invitations(c)
	if err != nil {
		return err
	}
	return h.usersPage(c, fiber.StatusOK, inv)
}

// usersPage is the Users page with its invitations section inv.
func (h *Handlers) usersPage(c *fiber.Ctx, status int, inv admin.Invitations) error {
	tenant := auth.Tenant(c)
	us, err := h.users.List(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	csrf := h.sessions.CSRFToken(c)
	loc := tenantLocation(tenant)
	rows := make([]admin.UserRow, len(us))
	for i, u := range us {
		rows[i] = userRow(u, csrf, loc)
	}
	return h.page(c, status, "Users", templ.Join(
		admin.Users(rows, admin.MFAPolicy{Required: tenant.RequireAdminMFA, CSRF: csrf}), admin.InvitationsView(inv)))
}

// userAction is a tenant admin's action on one user of the Users page
// (lift a lock-out, reset a lost second factor): do changes the user, the
// action is audited, and the user's row is sent back.
func (h *Handlers) userAction(action string, do func(ctx context.Context, tenantID, id int64) (models.User, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tenant := auth.Tenant(c)
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return fiber.ErrNotFound
		}
		u, err := do(c.UserContext(), tenant.ID, id)
		if errors.Is(err, models.ErrNotFound) {
			return fiber.ErrNotFound
		}
		if err != nil {
			return err
		}
		actor := auth.User(c)
		err = h.audit.Record(c.UserContext(), models.AuditEntry{
			TenantID: tenant.ID, ActorUserID: &actor.ID, ActorEmail: actor.Email, Action: action,
			Target: fmt.Sprintf("user:%d", u.ID), IP: h.clientIP(c), RequestID: requestID(c),
		})
		if err != nil {
			return err
		}
		return h.fragment(c, fiber.StatusOK, admin.UserRowView(userRow(u, h.sessions.CSRFToken(c), tenantLocation(tenant))))
	}
}

func userRow(u models.User, csrf string, loc *time.Location) admin.UserRow {
	now := time.Now()
	r := admin.UserRow{ID: u.ID, Name: u.Name, Email: u.Email, RoleLabel: roleLabels[u.Role], Status: u.Status,
		Locked: u.Locked(now), LastLogin: "never", MFA: u.HasMFA(), CSRF: csrf}
	if r.Locked {
		r.LockedFor = fmt.Sprintf("%d min", int(u.LockedUntil.Sub(now).Minutes())+1)
	}
	if u.LastLoginAt != nil {
		r.LastLogin = u.LastLoginAt.In(loc).Format("2 Jan 2006 15:04")
	}
	return r
}

// tenantLocation is the tenant's time zone, in which its pages show times.
func tenantLocation(t models.Tenant) *time.Location {
	if loc, ok := locations.Load(t.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(t.TimeZone, loc)
	return loc
}

// locations are the time zones loaded so far: time.LoadLocation reads and
// parses the zone's file on every call, which every dashboard request
// needs: 0.9 s of CPU in a 30-s benchmark mix of 37,000 requests.
var locations sync.Map
