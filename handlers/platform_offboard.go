package handlers

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
	"github.com/learnlens/learnlens/views/pages/platform"
)

// archiveTimeout bounds one tenant archive's export: at the 14,000
// statements a second measured for a million (docs/OPERATIONS.md), room
// for about a hundred million.
const archiveTimeout = 2 * time.Hour

// archiveWriteWindow is how long the client may take to accept the next
// bytes of an archive: the server's WriteTimeout would otherwise cut every
// archive that takes longer than it to stream.
const archiveWriteWindow = time.Minute

// offboardRoutes registers a platform admin's offboarding of a tenant:
// the whole tenant as one archive, and its deletion for good.
func (h *Handlers) offboardRoutes(platformGroup fiber.Router) {
	platformGroup.Get("/tenants/:id/archive.zip", h.tenantArchive)
	platformGroup.Post("/tenants/:id/delete", h.deleteTenant)
}

// offboarding is the offboarding section of tenant t's page.
func (h *Handlers) offboarding(c *fiber.Ctx, t models.Tenant) platform.Offboarding {
	return platform.Offboarding{ID: t.ID, Slug: t.Slug, Host: t.Slug + "." + h.cfg.BaseDomain,
		CSRF: h.sessions.CSRFToken(c), Suspended: t.Suspended()}
}

// tenantArchive streams the whole of a tenant as one ZIP file (see
// models.TenantStore.WriteArchive), recorded in the platform's audit log
// before the first byte is sent.
func (h *Handlers) tenantArchive(c *fiber.Ctx) error {
	t, err := h.customerTenant(c)
	if err != nil {
		return err
	}
	u := auth.User(c)
	if err := h.platformAudit(c, models.AuditTenantArchived, t.ID, map[string]any{"slug": t.Slug, "format": "zip"}); err != nil {
		return err
	}
	info := models.ArchiveInfo{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, TimeZone: t.TimeZone,
		BrandColor: t.BrandColor, RequireAdminMFA: t.RequireAdminMFA, XAPIRate: t.XAPIRate, XAPIBurst: t.XAPIBurst,
		XAPIConcurrency: t.XAPIConcurrency, CreatedAt: t.CreatedAt, ExportedAt: time.Now().UTC(), ExportedBy: u.Email}
	name := "learnlens-" + t.Slug + "-" + info.ExportedAt.Format("20060102-1504") + ".zip"
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	conn := c.Context().Conn()
	log, reqID, tenants := h.log, requestID(c), h.tenants
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), archiveTimeout)
		defer cancel()
		start := time.Now()
		zw := zip.NewWriter(&deadlineWriter{w: bw, extend: func() { _ = conn.SetWriteDeadline(time.Now().Add(archiveWriteWindow)) }})
		m, err := tenants.WriteArchive(ctx, info, zw, neutraliseFormula)
		if err != nil {
			// The headers are gone: say so inside the archive, whose
			// manifest is then missing, never with the error's text.
			if f, ferr := zw.Create("INCOMPLETE.txt"); ferr == nil {
				_, _ = io.WriteString(f, "This archive is incomplete: something went wrong on our side (request "+reqID+"). Please export again.\n")
			}
			log.Error("tenant archive failed", "request_id", reqID, "tenant", info.ID, "err", err)
		}
		if err := zw.Close(); err != nil {
			log.Warn("tenant archive not sent whole", "request_id", reqID, "tenant", info.ID, "err", err)
			return
		}
		if err == nil {
			log.Info("tenant archive", "request_id", reqID, "tenant", info.ID, "statements", m.Rows["statements.ndjson"],
				"seconds", time.Since(start).Seconds())
		}
	})
	return nil
}

// deadlineWriter moves the connection's write deadline on as the archive
// is written, so that a long archive is cut only when the client stops
// taking it, not by the server's WriteTimeout.
type deadlineWriter struct {
	w      io.Writer
	extend func()
	last   time.Time
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		d.last = now
		d.extend()
	}
	return d.w.Write(p)
}

// deleteTenant deletes a suspended tenant for good after the platform
// admin typed its address (slug or host name), ends its sessions and live
// connections, and shows what went.
func (h *Handlers) deleteTenant(c *fiber.Ctx) error {
	t, err := h.customerTenant(c)
	if err != nil {
		return err
	}
	confirm := strings.ToLower(strings.TrimSpace(c.FormValue("confirm")))
	slug := strings.TrimSuffix(confirm, "."+h.cfg.BaseDomain)
	refuse := func(status int, msg string) error {
		d := h.tenantDetail(c, t, "")
		d.Offboarding.Confirm, d.Offboarding.Error = c.FormValue("confirm"), msg
		f, err := h.savedTenantForm(c, t)
		if err != nil {
			return err
		}
		return h.page(c, status, t.Name, platform.EditTenant(f, d))
	}
	switch {
	case !t.Suspended():
		return refuse(fiber.StatusConflict, "Suspend the organisation before deleting it.")
	case confirm == "":
		return refuse(fiber.StatusUnprocessableEntity, "Type the organisation's address to confirm.")
	case slug != t.Slug:
		return refuse(fiber.StatusUnprocessableEntity, strconv.Quote(c.FormValue("confirm"))+" is not this organisation's address; type "+t.Slug+".")
	}
	u := auth.User(c)
	// The deletion runs to its end even if the browser goes away: it is
	// one transaction, and a retry would find nothing left to delete.
	ctx := context.WithoutCancel(c.UserContext())
	rows, err := h.tenants.Delete(ctx, t.ID, slug, models.Creator{ID: u.ID, Email: u.Email}, h.clientIP(c), requestID(c))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fiber.ErrNotFound
	case errors.Is(err, models.ErrTenantNotSuspended):
		return refuse(fiber.StatusConflict, "Suspend the organisation before deleting it.")
	case errors.Is(err, models.ErrDeleteConfirmation):
		return refuse(fiber.StatusUnprocessableEntity, "Type "+t.Slug+" to confirm.")
	case err != nil:
		return err
	}
	if h.audit.Recorded != nil {
		h.audit.Recorded(models.AuditTenantDeleted)
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	if _, err := h.sessions.EndTenant(ctx, t.ID); err != nil {
		// The tenant is gone and its host unknown, so its sessions sign
		// nobody in; the periodic clean-up removes them once they expire.
		h.log.Warn("end deleted tenant's sessions", "tenant", t.ID, "err", err)
	}
	for _, s := range h.liveUsers.ofTenant(t.ID) {
		s.client.Close(realtime.ClosePolicy, "this organisation was deleted")
	}
	var total int64
	for _, n := range rows {
		total += n
	}
	return h.page(c, fiber.StatusOK, "Tenant deleted", platform.TenantDeleted(t.Name, total))
}
