package handlers

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// scopeLabels say what each scope lets a client do.
var scopeLabels = map[string]string{
	models.ScopeDashboardsRead: "dashboards, tables, exports, the organisation tree",
	models.ScopeLearnersRead:   "learner records",
	models.ScopeImportsManage:  "imports and requirements",
	models.ScopeUsersManage:    "users and invitations",
	models.ScopeDataManage:     "purging statements before a date",
}

// apiClientRoutes mounts a tenant admin's API clients, on the credentials
// page, on the admin group.
func (h *Handlers) apiClientRoutes(adminGroup fiber.Router) {
	adminGroup.Post("/credentials/api-clients", h.apiClientCreate)
	adminGroup.Post("/credentials/api-clients/:id/rotate", h.apiClientRotate)
	adminGroup.Post("/credentials/api-clients/:id/revoke", h.apiClientRevoke)
}

// apiClientCreate makes a client named by field name with the ticked
// scopes and shows its secret, once.
func (h *Handlers) apiClientCreate(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("name"))
	var asked []string
	for _, v := range c.Request().PostArgs().PeekMulti("scope") {
		asked = append(asked, string(v))
	}
	page := admin.CredentialsPage{API: admin.APIClients{Name: name, Scopes: asked}}
	scopes, scopeErr := models.CheckScopes(asked)
	switch {
	case name == "":
		page.API.Error = "Give the client a name saying which system uses it."
	case utf8.RuneCountInString(name) > credentialNameMax:
		page.API.Error = fmt.Sprintf("The name is longer than %d characters.", credentialNameMax)
	case scopeErr != nil:
		page.API.Error = "Scopes: " + sentence(scopeErr.Error())
	}
	if page.API.Error != "" {
		return h.renderCredentials(c, fiber.StatusBadRequest, page)
	}
	cl, secret, err := h.api.clients.Create(c.UserContext(), auth.Tenant(c).ID, name, scopes)
	if err != nil {
		return err
	}
	if err := h.tenantAudit(c, models.AuditAPIClientCreated, apiClientTarget(cl),
		map[string]any{"name": cl.Name, "client_id": cl.ClientID, "scopes": scopes}); err != nil {
		return err
	}
	return h.renderCredentials(c, fiber.StatusOK, admin.CredentialsPage{API: admin.APIClients{
		New: &admin.NewClientSecret{Name: cl.Name, ClientID: cl.ClientID, Secret: secret}}})
}

// apiClientRotate gives a client a new secret, shown once; the old secret
// and the tokens given before are refused from the next request on, on
// every instance.
func (h *Handlers) apiClientRotate(c *fiber.Ctx) error {
	id, err := credentialID(c)
	if err != nil {
		return err
	}
	cl, secret, err := h.api.clients.Rotate(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.api.cache.forget(cl.TenantID, cl.ClientID)
	if err := h.tenantAudit(c, models.AuditAPIClientRotated, apiClientTarget(cl), map[string]string{"client_id": cl.ClientID}); err != nil {
		return err
	}
	return h.renderCredentials(c, fiber.StatusOK, admin.CredentialsPage{API: admin.APIClients{
		New: &admin.NewClientSecret{Name: cl.Name, ClientID: cl.ClientID, Secret: secret, Rotated: true}}})
}

// apiClientRevoke ends a client and its tokens, on every instance from the
// next request on.
func (h *Handlers) apiClientRevoke(c *fiber.Ctx) error {
	id, err := credentialID(c)
	if err != nil {
		return err
	}
	cl, err := h.api.clients.Revoke(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.api.cache.forget(cl.TenantID, cl.ClientID)
	if err := h.tenantAudit(c, models.AuditAPIClientRevoked, apiClientTarget(cl), map[string]string{"client_id": cl.ClientID}); err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/credentials#api-clients")
}

// apiClientsSection fills the API clients section of the credentials page.
func (h *Handlers) apiClientsSection(c *fiber.Ctx, a *admin.APIClients) error {
	tenant := auth.Tenant(c)
	cs, err := h.api.clients.List(c.UserContext(), tenant.ID)
	if err != nil {
		return err
	}
	loc := tenantLocation(tenant)
	for _, cl := range cs {
		r := admin.APIClientRow{ID: cl.ID, Name: cl.Name, ClientID: cl.ClientID, Scopes: cl.Scopes,
			Created: cl.CreatedAt.In(loc).Format("2 Jan 2006"), LastUsed: "never"}
		if cl.LastUsedAt != nil {
			r.LastUsed = cl.LastUsedAt.In(loc).Format("2 Jan 2006 15:04")
		}
		if cl.RevokedAt != nil {
			r.Revoked = cl.RevokedAt.In(loc).Format("2 Jan 2006")
		}
		a.Rows = append(a.Rows, r)
	}
	for _, s := range models.Scopes {
		a.Options = append(a.Options, admin.ScopeOption{Value: s, Label: scopeLabels[s]})
	}
	a.TokenURL = c.BaseURL() + "/api/v1/oauth/token"
	a.APIURL = c.BaseURL() + "/api/v1/"
	a.Off = !h.api.tokens.Enabled()
	return nil
}
