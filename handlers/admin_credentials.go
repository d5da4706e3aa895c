package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// credentialNameMax bounds a credential's name (field name).
const credentialNameMax = 100

// credentialRoutes mounts a tenant admin's xAPI credentials pages on the
// admin group.
func (h *Handlers) credentialRoutes(adminGroup fiber.Router) {
	adminGroup.Get("/credentials", h.credentialList)
	adminGroup.Post("/credentials", h.credentialCreate)
	adminGroup.Post("/credentials/:id/rotate", h.credentialRotate)
	adminGroup.Post("/credentials/:id/revoke", h.credentialRevoke)
	h.apiClientRoutes(adminGroup)
}

// credentialList shows the tenant's xAPI credentials.
func (h *Handlers) credentialList(c *fiber.Ctx) error {
	return h.renderCredentials(c, fiber.StatusOK, admin.CredentialsPage{})
}

// credentialCreate makes a credential named by field name and shows its
// secret, once.
func (h *Handlers) credentialCreate(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("name"))
	page := admin.CredentialsPage{Name: name}
	switch {
	case name == "":
		page.Error = "Give the credential a name saying which system uses it."
	case utf8.RuneCountInString(name) > credentialNameMax:
		page.Error = fmt.Sprintf("The name is longer than %d characters.", credentialNameMax)
	}
	if page.Error != "" {
		return h.renderCredentials(c, fiber.StatusBadRequest, page)
	}
	cred, secret, err := h.credentials.Create(c.UserContext(), auth.Tenant(c).ID, name)
	if err != nil {
		return err
	}
	if err := h.tenantAudit(c, models.AuditCredentialCreated, credentialTarget(cred), map[string]string{"name": cred.Name}); err != nil {
		return err
	}
	return h.renderCredentials(c, fiber.StatusOK, admin.CredentialsPage{New: &admin.NewSecret{Name: cred.Name, Key: cred.Key, Secret: secret}})
}

// credentialRotate gives a credential a new secret, shown once; the old
// one is refused from the next request on, on every instance.
func (h *Handlers) credentialRotate(c *fiber.Ctx) error {
	id, err := credentialID(c)
	if err != nil {
		return err
	}
	cred, secret, err := h.credentials.Rotate(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.credCache.clear()
	if err := h.tenantAudit(c, models.AuditCredentialRotated, credentialTarget(cred), nil); err != nil {
		return err
	}
	return h.renderCredentials(c, fiber.StatusOK, admin.CredentialsPage{New: &admin.NewSecret{Name: cred.Name, Key: cred.Key, Secret: secret, Rotated: true}})
}

// credentialRevoke ends a credential, on every instance from the next
// request on.
func (h *Handlers) credentialRevoke(c *fiber.Ctx) error {
	id, err := credentialID(c)
	if err != nil {
		return err
	}
	cred, err := h.credentials.Revoke(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.credCache.clear()
	if err := h.tenantAudit(c, models.AuditCredentialRevoked, credentialTarget(cred), nil); err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/credentials")
}

// renderCredentials renders the credentials page p with the tenant's
// credentials.
func (h *Handlers) renderCredentials(c *fiber.Ctx, status int, p admin.CredentialsPage) error {
	tenant := auth.Tenant(c)
	cs, err := h.credentials.List(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	loc := tenantLocation(tenant)
	for _, cr := range cs {
		r := admin.CredentialRow{ID: cr.ID, Name: cr.Name, Key: cr.Key, Created: cr.CreatedAt.In(loc).Format("2 Jan 2006"),
			LastUsed: "never", StatementsReceived: strconv.FormatInt(cr.StatementsReceived, 10)}
		if cr.LastUsedAt != nil {
			r.LastUsed = cr.LastUsedAt.In(loc).Format("2 Jan 2006 15:04")
		}
		if cr.RevokedAt != nil {
			r.Revoked = cr.RevokedAt.In(loc).Format("2 Jan 2006")
		}
		p.Rows = append(p.Rows, r)
	}
	p.Endpoint = c.BaseURL() + "/xapi/"
	p.CSRF = h.sessions.CSRFToken(c)
	if err := h.apiClientsSection(c, &p.API); err != nil {
		return err
	}
	return h.page(c, status, "xAPI credentials", admin.Credentials(p))
}

// credentialID is the path's credential id; anything else is not found.
func credentialID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

func credentialTarget(cr models.Credential) string { return fmt.Sprintf("credential:%d", cr.ID) }
