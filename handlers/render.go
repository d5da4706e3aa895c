package handlers

import (
	"fmt"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/layouts"
)

// page renders body with the given status: alone for an htmx request, or
// inside the page frame otherwise. HTML is never cached.
func (h *Handlers) page(c *fiber.Ctx, status int, title string, body templ.Component) error {
	if htmx.IsRequest(c) {
		return h.fragment(c, status, body)
	}
	c.Status(status)
	c.Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	ctx := templ.WithChildren(withCSP(c.UserContext(), c), body)
	return layouts.Base(h.shell(c, title)).Render(ctx, c.Response().BodyWriter())
}

// fragment renders component alone.
func (h *Handlers) fragment(c *fiber.Ctx, status int, component templ.Component) error {
	c.Status(status)
	c.Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return component.Render(withCSP(c.UserContext(), c), c.Response().BodyWriter())
}

// shell describes the page frame for the request's tenant and user.
func (h *Handlers) shell(c *fiber.Ctx, title string) layouts.Shell {
	s := layouts.Shell{Title: title, OrgName: "LearnLens"}
	t, ok := auth.LookupTenant(c)
	if ok && !t.IsPlatform() {
		s.OrgName = t.Name
		s.BrandRGB = brandRGB(t.BrandColor)
		if s.BrandRGB != "" {
			s.ThemeColor = t.BrandColor
		}
		s.LogoURL = t.LogoURL
	}
	if u := auth.User(c); u != nil {
		s.User = &layouts.SignedIn{Name: u.Name, Email: u.Email, RoleLabel: roleLabels[u.Role]}
		s.Nav = navFor(u.Role, c.Path())
		s.Support = h.supportBanner(c)
	}
	if s.User != nil || c.Path() == "/login" {
		s.CSRF = h.sessions.CSRFToken(c)
	}
	return s
}

// roleLabels names roles as users read them.
var roleLabels = map[string]string{
	models.RolePlatformAdmin: "Platform admin",
	models.RoleTenantAdmin:   "Admin",
	models.RoleManager:       "Manager",
	models.RoleAnalyst:       "Analyst",
	models.RoleLearner:       "Learner",
}

// navigation lists every page of the main navigation with the roles that
// see it, in display order.
var navigation = []struct {
	item  layouts.NavItem
	roles []string
}{
	{layouts.NavItem{Label: "Tenants", Href: "/platform/tenants", TestID: "nav-tenants"}, []string{models.RolePlatformAdmin}},
	{layouts.NavItem{Label: "Home", Href: "/", TestID: "nav-home"}, []string{models.RoleTenantAdmin, models.RoleManager, models.RoleAnalyst, models.RoleLearner}},
	{layouts.NavItem{Label: "Completion", Href: "/dashboards/completion", TestID: "nav-completion"}, dashboardRoles},
	{layouts.NavItem{Label: "Engagement", Href: "/dashboards/engagement", TestID: "nav-engagement"}, dashboardRoles},
	{layouts.NavItem{Label: "Compliance", Href: "/dashboards/compliance", TestID: "nav-compliance"}, dashboardRoles},
	{layouts.NavItem{Label: "Assessments", Href: "/dashboards/assessments", TestID: "nav-assessments"}, dashboardRoles},
	{layouts.NavItem{Label: "Team", Href: "/dashboards/team", TestID: "nav-team"}, dashboardRoles},
	{layouts.NavItem{Label: "My learning", Href: "/me", TestID: "nav-me"}, []string{models.RoleTenantAdmin, models.RoleManager, models.RoleAnalyst, models.RoleLearner}},
	{layouts.NavItem{Label: "Users", Href: "/admin/users", TestID: "nav-users", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "xAPI", Href: "/admin/credentials", TestID: "nav-credentials", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "Imports", Href: "/admin/imports", TestID: "nav-imports", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "Settings", Href: "/admin/settings", TestID: "nav-settings", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "Requirements", Href: "/admin/requirements", TestID: "nav-requirements", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "Audit log", Href: "/admin/audit", TestID: "nav-audit", Managing: true}, []string{models.RoleTenantAdmin}},
	{layouts.NavItem{Label: "Usage", Href: "/admin/usage", TestID: "nav-usage", Managing: true}, []string{models.RoleTenantAdmin}},
}

// navFor returns the navigation of role with the entry for path marked.
func navFor(role, path string) []layouts.NavItem {
	var out []layouts.NavItem
	for _, n := range navigation {
		for _, r := range n.roles {
			if r == role {
				item := n.item
				item.Active = path == item.Href || (item.Href != "/" && strings.HasPrefix(path, item.Href+"/"))
				out = append(out, item)
			}
		}
	}
	return out
}

// brandRGB turns "#rrggbb" into "r g b" for the --brand-rgb CSS variable;
// anything else gives "" (the default colour).
func brandRGB(hex string) string {
	var r, g, b uint8
	if len(hex) != 7 {
		return ""
	}
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return ""
	}
	return fmt.Sprintf("%d %d %d", r, g, b)
}
