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
	dashboards := []home.Card{
		{Title: "Course completion", Text: "Enrolled, in progress, completed and overdue, per course and team.", Href: "/dashboards/completion", TestID: "card-completion"},
		{Title: "Engagement", Text: "Active learners, learning minutes, when people learn, inactive people.", Href: "/dashboards/engagement", TestID: "card-engagement"},
		{Title: "Compliance", Text: "Required training: compliant, due soon, overdue, expired; people at risk.", Href: "/dashboards/compliance", TestID: "card-compliance"},
		{Title: "Assessments", Text: "Pass rates, score distributions, attempts and question results.", Href: "/dashboards/assessments", TestID: "card-assessments"},
		{Title: "Team view", Text: "The organisation as a tree with each part's completion and compliance.", Href: "/dashboards/team", TestID: "card-team"},
	}
	switch u.Role {
	case models.RoleTenantAdmin:
		v.Intro = "You administer " + auth.Tenant(c).Name + " on LearnLens: its learning dashboards, people and sign-ins."
		v.Cards = append(dashboards,
			home.Card{Title: "Users", Text: "Who can sign in, their roles, their learner records, and lock-outs to lift.", Href: "/admin/users", TestID: "card-users"},
			home.Card{Title: "xAPI credentials", Text: "Keys your LMS and authoring tools send learning records with.", Href: "/admin/credentials", TestID: "card-credentials"},
			home.Card{Title: "Imports", Text: "Upload your HR roster, courses, enrolments and requirements as CSV or XLSX.", Href: "/admin/imports", TestID: "card-imports"},
			home.Card{Title: "Settings", Text: "Your name, brand colour and logo, time zone and sign-in domains.", Href: "/admin/settings", TestID: "card-settings"},
			home.Card{Title: "Compliance requirements", Text: "Required training: which course, for whom, by when and how often again.", Href: "/admin/requirements", TestID: "card-requirements"},
			home.Card{Title: "Audit log", Text: "Sign-ins, failures, lock-outs, exports and admin actions.", Href: "/admin/audit", TestID: "card-audit"},
			home.Card{Title: "Data rights", Text: "A person's data as a download, pseudonymise or erase them, purge old records.", Href: "/admin/data", TestID: "card-data"},
			home.Card{Title: "Usage", Text: "Statements per day, active learners, sign-ins and exports.", Href: "/admin/usage", TestID: "card-usage"})
	case models.RoleManager:
		v.Intro = "Your team's learning: completion, compliance and engagement for everyone who reports to you, solid or dotted line."
		v.Cards = dashboards
	case models.RoleAnalyst:
		v.Intro = "Your organisation's learning dashboards."
		v.Cards = dashboards
	default:
		v.Intro = "Your own learning: progress, due training and certificates."
		v.Cards = []home.Card{{Title: "My learning", Text: "Your courses, required training, certificates and attempts.", Href: "/me", TestID: "card-me"}}
	}
	numbers, err := h.homeNumbers(c)
	if err != nil {
		return err
	}
	v.Numbers = numbers
	return h.page(c, fiber.StatusOK, "Home", home.Page(v))
}
