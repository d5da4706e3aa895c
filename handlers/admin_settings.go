package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/static"
	"github.com/learnlens/learnlens/views/pages/admin"
)

// Limits of the settings form.
const (
	tenantNameMax = 100
	logoMaxBytes  = 512 << 10
)

// hexColor is a brand colour as the settings form takes it.
var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// settingsRoutes mounts the tenant's settings pages on the admin group.
// (Its logo and web app manifest are served to anyone on the tenant's
// host; routes mounts them before the session middleware.)
func (h *Handlers) settingsRoutes(adminGroup fiber.Router) {
	adminGroup.Get("/settings", h.settingsPage)
	adminGroup.Post("/settings", h.settingsSave)
	adminGroup.Post("/settings/logo", h.logoUpload)
	adminGroup.Post("/settings/logo/remove", h.logoRemove)
}

// settingsPage shows the tenant's settings.
func (h *Handlers) settingsPage(c *fiber.Ctx) error {
	t := auth.Tenant(c)
	domains, err := h.tenants.Domains(c.UserContext(), t.ID, models.DomainEmail)
	if err != nil {
		return err
	}
	return h.renderSettings(c, fiber.StatusOK, admin.SettingsPage{Name: t.Name, BrandColor: t.BrandColor, TimeZone: t.TimeZone,
		EmailDomains: strings.Join(domains, "\n"), Saved: c.Query("saved") != ""})
}

// settingsSave checks and saves the settings form (fields name,
// brand_color, time_zone, email_domains). Anything wrong is shown at its
// field and nothing is saved. A new time zone moves every learning record
// to its local day and rebuilds the dashboards (pipeline.SetTimeZone).
func (h *Handlers) settingsSave(c *fiber.Ctx) error {
	t := auth.Tenant(c)
	p := admin.SettingsPage{Name: strings.TrimSpace(c.FormValue("name")), BrandColor: strings.ToLower(strings.TrimSpace(c.FormValue("brand_color"))),
		TimeZone: strings.TrimSpace(c.FormValue("time_zone")), EmailDomains: c.FormValue("email_domains"), Errors: map[string]string{}}
	switch n := utf8.RuneCountInString(p.Name); {
	case n == 0:
		p.Errors["name"] = "Enter the name of your organisation."
	case n > tenantNameMax:
		p.Errors["name"] = fmt.Sprintf("The name is longer than %d characters.", tenantNameMax)
	}
	if !hexColor.MatchString(p.BrandColor) {
		p.Errors["brand_color"] = "The brand colour must be a hex colour like #4f46e5."
	}
	if p.TimeZone != t.TimeZone {
		// Go's and PostgreSQL's zones may differ: both are asked before
		// anything is saved.
		if err := h.pipeline.CheckTimeZone(c.UserContext(), p.TimeZone); errors.Is(err, pipeline.ErrUnknownTimeZone) {
			p.Errors["time_zone"] = fmt.Sprintf("%q is not a time zone of the tz database (like Europe/London).", p.TimeZone)
		} else if err != nil {
			return err
		}
	}
	if len(p.Errors) > 0 {
		return h.renderSettings(c, fiber.StatusBadRequest, p)
	}
	domains, err := models.ParseDomains(p.EmailDomains)
	if err != nil {
		p.Errors["email_domains"] = sentence(err.Error())
		return h.renderSettings(c, fiber.StatusBadRequest, p)
	}
	ctx := c.UserContext()
	err = h.tenants.SetEmailDomains(ctx, t.ID, domains)
	var taken *models.DomainTakenError
	if errors.As(err, &taken) {
		p.Errors["email_domains"] = sentence(taken.Error())
		return h.renderSettings(c, fiber.StatusBadRequest, p)
	}
	if err != nil {
		return err
	}
	if err := h.tenants.SetProfile(ctx, t.ID, p.Name, p.BrandColor); err != nil {
		return err
	}
	if p.TimeZone != t.TimeZone {
		err := h.pipeline.SetTimeZone(ctx, t.ID, p.TimeZone)
		if errors.Is(err, pipeline.ErrUnknownTimeZone) {
			p.Errors["time_zone"] = sentence(err.Error())
			return h.renderSettings(c, fiber.StatusBadRequest, p)
		}
		if err != nil {
			return err
		}
		if err := h.tenants.Changed(ctx, t.ID); err != nil {
			return err
		}
		if err := h.tenantAudit(c, models.AuditTenantTimeZone, tenantTarget(t), map[string]string{"from": t.TimeZone, "to": p.TimeZone}); err != nil {
			return err
		}
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	err = h.tenantAudit(c, models.AuditTenantSettings, tenantTarget(t),
		map[string]string{"name": p.Name, "brand_color": p.BrandColor, "email_domains": strings.Join(strings.Fields(p.EmailDomains), " ")})
	if err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/settings?saved=1")
}

// logoUpload stores the tenant's logo (field logo): a PNG, JPEG or SVG of
// at most logoMaxBytes, recognised by its content, not its name. An SVG
// that could run script or load anything is refused; what is stored is
// also served so that it cannot (see tenantLogo).
func (h *Handlers) logoUpload(c *fiber.Ctx) error {
	fh, err := c.FormFile("logo")
	if err != nil {
		return h.logoError(c, "Choose an image file to upload.")
	}
	if fh.Size > logoMaxBytes {
		return h.logoError(c, fmt.Sprintf("The logo is %d KB; it may be at most %d KB.", fh.Size>>10, logoMaxBytes>>10))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, logoMaxBytes+1))
	if err != nil {
		return err
	}
	if len(data) > logoMaxBytes {
		return h.logoError(c, fmt.Sprintf("The logo may be at most %d KB.", logoMaxBytes>>10))
	}
	contentType, err := logoType(data)
	if err != nil {
		return h.logoError(c, sentence(err.Error()))
	}
	t := auth.Tenant(c)
	if err := h.tenants.SetLogo(c.UserContext(), t.ID, contentType, data); err != nil {
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	if err := h.tenantAudit(c, models.AuditTenantLogo, tenantTarget(t), map[string]any{"content_type": contentType, "bytes": len(data)}); err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/settings?saved=1")
}

// logoRemove deletes the tenant's logo.
func (h *Handlers) logoRemove(c *fiber.Ctx) error {
	t := auth.Tenant(c)
	if err := h.tenants.RemoveLogo(c.UserContext(), t.ID); err != nil {
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	if err := h.tenantAudit(c, models.AuditTenantLogo, tenantTarget(t), map[string]bool{"removed": true}); err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/settings?saved=1")
}

// logoError shows the settings page with msg at the logo field.
func (h *Handlers) logoError(c *fiber.Ctx, msg string) error {
	t := auth.Tenant(c)
	domains, err := h.tenants.Domains(c.UserContext(), t.ID, models.DomainEmail)
	if err != nil {
		return err
	}
	return h.renderSettings(c, fiber.StatusBadRequest, admin.SettingsPage{Name: t.Name, BrandColor: t.BrandColor, TimeZone: t.TimeZone,
		EmailDomains: strings.Join(domains, "\n"), Errors: map[string]string{"logo": msg}})
}

func (h *Handlers) renderSettings(c *fiber.Ctx, status int, p admin.SettingsPage) error {
	t := auth.Tenant(c)
	p.LogoURL, p.RequireAdminMFA, p.CSRF = t.LogoURL, t.RequireAdminMFA, h.sessions.CSRFToken(c)
	return h.page(c, status, "Settings", admin.Settings(p))
}

func tenantTarget(t models.Tenant) string { return fmt.Sprintf("tenant:%d", t.ID) }

// logoType is the content type of an uploaded logo, judged by its bytes:
// PNG, JPEG, or an SVG without script, event handlers, external
// references or entity declarations.
func logoType(data []byte) (string, error) {
	switch sniffed := http.DetectContentType(data); sniffed {
	case "image/png", "image/jpeg":
		return sniffed, nil
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if !bytes.HasPrefix(trimmed, []byte("<")) || !bytes.Contains(data, []byte("<svg")) {
		return "", errors.New("the logo must be a PNG, JPEG or SVG image")
	}
	if err := checkSVG(data); err != nil {
		return "", err
	}
	return "image/svg+xml", nil
}

// checkSVG refuses an SVG that is not well-formed XML with an <svg> root,
// or that holds what could run script or fetch something: <script>,
// <foreignObject>, on* attributes, javascript: or external links, a
// DOCTYPE (entities).
func checkSVG(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	root := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root {
				return errors.New("the SVG has no <svg> element")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("the SVG is not well-formed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			return errors.New("the SVG has a DOCTYPE or entity declaration, which logos may not have")
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			if root && name != "svg" {
				return errors.New("the SVG's root element is not <svg>")
			}
			root = false
			if name == "script" || name == "foreignobject" || name == "iframe" || name == "embed" || name == "object" {
				return fmt.Errorf("the SVG holds a <%s> element, which could run script", tok.Name.Local)
			}
			for _, a := range tok.Attr {
				attr, value := strings.ToLower(a.Name.Local), strings.ToLower(strings.TrimSpace(a.Value))
				if strings.HasPrefix(attr, "on") {
					return fmt.Errorf("the SVG has an %s attribute, which could run script", a.Name.Local)
				}
				if (attr == "href" || attr == "src") && !strings.HasPrefix(value, "#") && !strings.HasPrefix(value, "data:image/png") && !strings.HasPrefix(value, "data:image/jpeg") {
					return fmt.Errorf("the SVG links to %q; a logo may only link within itself", a.Value)
				}
				if strings.Contains(value, "javascript:") {
					return errors.New("the SVG holds a javascript: address")
				}
			}
		}
	}
}

// tenantLogo serves the tenant's logo. Its URL carries a hash of its
// content (models.LogoPath?v=…), so a matching request is cached for a
// year. Whatever the file, the headers keep it inert: no sniffing, and a
// sandboxing Content-Security-Policy so that an SVG opened on its own runs
// no script and loads nothing.
func (h *Handlers) tenantLogo(c *fiber.Ctx) error {
	logo, err := h.tenants.Logo(c.UserContext(), auth.Tenant(c).ID)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	etag := `"` + hex.EncodeToString(logo.SHA256[:8]) + `"`
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	c.Set(fiber.HeaderETag, etag)
	if c.Query("v") == hex.EncodeToString(logo.SHA256[:8]) {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, logo.ContentType)
	return c.Send(logo.Data)
}

// baseManifest is the embedded web app manifest, parsed once.
var baseManifest = sync.OnceValues(func() (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(static.Manifest(), &m)
	return m, err
})

// manifest serves the web app manifest of the host's tenant: its name,
// and its brand colour as the installed app's theme.
func (h *Handlers) manifest(c *fiber.Ctx) error {
	base, err := baseManifest()
	if err != nil {
		return err
	}
	m := make(map[string]any, len(base))
	for k, v := range base {
		m[k] = v
	}
	if t := auth.Tenant(c); !t.IsPlatform() {
		m["name"], m["short_name"] = t.Name, t.Name
		m["theme_color"], m["background_color"] = t.BrandColor, t.BrandColor
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, etag)
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "application/manifest+json")
	return c.Send(body)
}
