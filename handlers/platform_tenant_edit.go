package handlers

import (
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/views/pages/platform"
)

// slugPattern is the shape of a tenant's slug, the first label of its
// address (the tenants table checks the same).
var slugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// commonTimeZones are offered in the time-zone field; any IANA name is
// accepted.
var commonTimeZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Africa/Johannesburg"}

// maxNameLength bounds a tenant's or person's name.
const maxNameLength = 200

// tenantForm reads and checks the tenant form's fields common to creating
// and editing; errs gets a message per wrong field.
func (h *Handlers) tenantForm(c *fiber.Ctx) (f platform.TenantForm, emailDomains []string) {
	f = platform.TenantForm{
		CSRF: h.sessions.CSRFToken(c), BaseDomain: h.cfg.BaseDomain, TimeZones: commonTimeZones, Errors: map[string]string{},
		Name: strings.TrimSpace(c.FormValue("name")), EmailDomains: strings.TrimSpace(c.FormValue("email_domains")),
		TimeZone: strings.TrimSpace(c.FormValue("time_zone")),
	}
	if msg := checkName(f.Name); msg != "" {
		f.Errors["name"] = msg
	}
	if msg := checkTimeZone(f.TimeZone); msg != "" {
		f.Errors["time_zone"] = msg
	}
	emailDomains, err := models.ParseDomains(f.EmailDomains)
	if err != nil {
		f.Errors["email_domains"] = sentence(err.Error())
	}
	return f, emailDomains
}

// checkName says what is wrong with a name, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "Enter a name."
	case utf8.RuneCountInString(name) > maxNameLength:
		return "Use at most " + strconv.Itoa(maxNameLength) + " characters."
	}
	return ""
}

// checkTimeZone says what is wrong with an IANA time zone name, or "".
// "Local" is refused: it is the server's zone, not a place.
func checkTimeZone(name string) string {
	if name == "" || name == "Local" {
		return "Enter an IANA time zone such as Europe/Berlin or UTC."
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "There is no time zone called " + strconv.Quote(name) + "; use an IANA name such as Europe/Berlin."
	}
	return ""
}

// newTenantPage shows the form that creates a tenant.
func (h *Handlers) newTenantPage(c *fiber.Ctx) error {
	return h.page(c, fiber.StatusOK, "New tenant", platform.NewTenant(platform.TenantForm{
		CSRF: h.sessions.CSRFToken(c), BaseDomain: h.cfg.BaseDomain, TimeZone: "UTC", TimeZones: commonTimeZones,
	}))
}

// createTenant creates a tenant with its email domains and an invitation
// of its first admin, and shows the invitation link once.
func (h *Handlers) createTenant(c *fiber.Ctx) error {
	f, domains := h.tenantForm(c)
	f.Slug = strings.ToLower(strings.TrimSpace(c.FormValue("slug")))
	f.AdminEmail = strings.TrimSpace(c.FormValue("admin_email"))
	if !slugPattern.MatchString(f.Slug) {
		f.Errors["slug"] = "Use 1 to 63 lower-case letters, digits and inner hyphens, e.g. acme or acme-eu."
	}
	if msg := checkEmail(f.AdminEmail); msg != "" {
		f.Errors["admin_email"] = msg
	}
	if len(f.Errors) > 0 {
		return h.page(c, fiber.StatusUnprocessableEntity, "New tenant", platform.NewTenant(f))
	}
	u := auth.User(c)
	t, token, err := h.tenants.CreateWithInvitation(c.UserContext(),
		models.NewTenant{Slug: f.Slug, Name: f.Name, TimeZone: f.TimeZone}, domains, f.AdminEmail,
		models.Creator{ID: u.ID, Email: u.Email})
	var taken *models.DomainTakenError
	switch {
	case errors.Is(err, models.ErrSlugTaken):
		f.Errors["slug"] = f.Slug + "." + h.cfg.BaseDomain + " is taken; choose another address."
	case errors.As(err, &taken):
		f.Errors["email_domains"] = "The email domain " + taken.Domain + " belongs to another organisation."
	case err != nil:
		return err
	}
	if len(f.Errors) > 0 {
		return h.page(c, fiber.StatusConflict, "New tenant", platform.NewTenant(f))
	}
	if err := h.platformAudit(c, models.AuditTenantCreated, t.ID, map[string]any{"slug": t.Slug, "email_domains": domains}); err != nil {
		return err
	}
	if err := h.record(c, t.ID, models.AuditInvitationCreated, "invitation:"+strings.ToLower(f.AdminEmail),
		map[string]any{"role": models.RoleTenantAdmin, "by": "platform admin"}); err != nil {
		return err
	}
	noReferrer(c)
	url := h.hosts.TenantURL(c, t)
	return h.page(c, fiber.StatusCreated, "Tenant created", platform.TenantCreated(t.Name, url, url+"/invite/"+token, f.AdminEmail, t.ID))
}

// checkEmail says what is wrong with an email address, or "".
func checkEmail(email string) string {
	a, err := mail.ParseAddress(email)
	if email == "" || err != nil || a.Address != email || a.Name != "" || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return "Enter an email address such as name@example.com."
	}
	return ""
}

// tenantPage shows a tenant's settings, status and support access.
func (h *Handlers) tenantPage(c *fiber.Ctx) error {
	t, err := h.customerTenant(c)
	if err != nil {
		return err
	}
	f, err := h.savedTenantForm(c, t)
	if err != nil {
		return err
	}
	saved := ""
	if c.Query("saved") == "1" {
		saved = "Saved."
	}
	return h.page(c, fiber.StatusOK, t.Name, platform.EditTenant(f, h.tenantDetail(c, t, saved)))
}

// savedTenantForm is the edit form of tenant t as saved.
func (h *Handlers) savedTenantForm(c *fiber.Ctx, t models.Tenant) (platform.TenantForm, error) {
	f := platform.TenantForm{CSRF: h.sessions.CSRFToken(c), BaseDomain: h.cfg.BaseDomain, Name: t.Name, TimeZone: t.TimeZone,
		TimeZones: commonTimeZones}
	emails, err := h.tenants.Domains(c.UserContext(), t.ID, models.DomainEmail)
	if err != nil {
		return f, err
	}
	hosts, err := h.tenants.Domains(c.UserContext(), t.ID, models.DomainHost)
	if err != nil {
		return f, err
	}
	f.EmailDomains, f.HostDomains = strings.Join(emails, ", "), strings.Join(hosts, ", ")
	return f, nil
}

func (h *Handlers) tenantDetail(c *fiber.Ctx, t models.Tenant, saved string) platform.TenantDetail {
	return platform.TenantDetail{ID: t.ID, URL: h.hosts.TenantURL(c, t), Suspended: t.Suspended(),
		SupportMFA: h.supportAllowed(c), Saved: saved, SupportMins: supportMinutes, Offboarding: h.offboarding(c, t)}
}

// customerTenant is the customer tenant named by the :id parameter, 404
// for anything else.
func (h *Handlers) customerTenant(c *fiber.Ctx) (models.Tenant, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id == models.PlatformTenantID {
		return models.Tenant{}, fiber.ErrNotFound
	}
	t, err := h.tenants.ByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return models.Tenant{}, fiber.ErrNotFound
	}
	return t, err
}

// updateTenant saves a tenant's name, time zone, email domains and custom
// host names.
func (h *Handlers) updateTenant(c *fiber.Ctx) error {
	t, err := h.customerTenant(c)
	if err != nil {
		return err
	}
	f, emails := h.tenantForm(c)
	f.HostDomains = strings.TrimSpace(c.FormValue("host_domains"))
	hosts, err := models.ParseDomains(f.HostDomains)
	if err != nil {
		f.Errors["host_domains"] = sentence(err.Error())
	}
	for _, host := range hosts {
		if host == h.cfg.BaseDomain || strings.HasSuffix(host, "."+h.cfg.BaseDomain) {
			f.Errors["host_domains"] = host + " is under " + h.cfg.BaseDomain + ", whose addresses are the organisations' own; use a domain of the customer's."
		}
	}
	if f.TimeZone != t.TimeZone && f.Errors["time_zone"] == "" {
		// Refused before anything is saved: PostgreSQL's zones may differ
		// from Go's, which tenantForm checked.
		if err := h.pipeline.CheckTimeZone(c.UserContext(), f.TimeZone); errors.Is(err, pipeline.ErrUnknownTimeZone) {
			f.Errors["time_zone"] = sentence(err.Error())
		} else if err != nil {
			return err
		}
	}
	if len(f.Errors) > 0 {
		return h.page(c, fiber.StatusUnprocessableEntity, t.Name, platform.EditTenant(f, h.tenantDetail(c, t, "")))
	}
	err = h.tenants.Update(c.UserContext(), t.ID, models.TenantChange{Name: f.Name, EmailDomains: emails, HostDomains: hosts})
	var taken *models.DomainTakenError
	switch {
	case errors.As(err, &taken):
		field := "email_domains"
		if slices.Contains(hosts, taken.Domain) {
			field = "host_domains"
		}
		f.Errors[field] = taken.Domain + " belongs to another organisation."
		return h.page(c, fiber.StatusConflict, t.Name, platform.EditTenant(f, h.tenantDetail(c, t, "")))
	case errors.Is(err, models.ErrNotFound):
		return fiber.ErrNotFound
	case err != nil:
		return err
	}
	if f.TimeZone != t.TimeZone {
		// Every learning record moves to its new local day, as when the
		// tenant's admin changes it (settingsSave).
		err := h.pipeline.SetTimeZone(c.UserContext(), t.ID, f.TimeZone)
		if errors.Is(err, pipeline.ErrUnknownTimeZone) {
			f.Errors["time_zone"] = sentence(err.Error())
			return h.page(c, fiber.StatusUnprocessableEntity, t.Name, platform.EditTenant(f, h.tenantDetail(c, t, "")))
		}
		if err != nil {
			return err
		}
		if err := h.tenants.Changed(c.UserContext(), t.ID); err != nil {
			return err
		}
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	if err := h.platformAudit(c, models.AuditTenantUpdated, t.ID, map[string]any{"name": f.Name, "time_zone": f.TimeZone,
		"email_domains": emails, "host_domains": hosts}); err != nil {
		return err
	}
	return htmx.Redirect(c, "/platform/tenants/"+strconv.FormatInt(t.ID, 10)+"?saved=1")
}
