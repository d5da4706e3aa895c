package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/home"
)

// home is a signed-in user's start page. Platform admins start at the tenant list.
func (h *Handlers) home(c *fiber.Ctx) error {
	u := auth.User(c)
	if u.Role == models.RolePlatformAdmin {
		return c.Redirect("/platform/tenants", fiber.StatusSeeOther)
	}
	v := home.Home{Greeting: "Welcome, " + u.Name}
	switch u.Role {
	case models.RoleTenantAdmin:
		v.Intro = "You administer " + auth.Tenant(c).Name + " on LearnLens: its people, its sign-ins and, soon, its learning data and dashboards."
		v.Cards = []home.Card{
			{Title: "Users", Text: "Who can sign in, their roles, and lock-outs to lift.", Href: "/admin/users", TestID: "card-users"},
			{Title: "Audit log", Text: "Sign-ins, failures, lock-outs and admin actions.", Href: "/admin/audit", TestID: "card-audit"},
		}
	case models.RoleManager:
		v.Intro = "Your team's learning — completion, compliance and engagement for everyone who reports to you — appears here once your organisation's learning data flows in."
	case models.RoleAnalyst:
		v.Intro = "Your organisation's learning dashboards appear here once its learning data flows in."
	default:
		v.Intro = "Your own learning — progress, due training and certificates — appears here once your organisation's learning data flows in."
	}
	return h.page(c, fiber.StatusOK, "Home", home.Page(v))
}
