package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// drill is a two-level drill-down: an object (a course, a requirement) →
// its teams (people grouped by manager) → one team's people.
type drill struct {
	dash, dashTitle string // "completion", "Course completion"
	object          string // the path segment, e.g. "courses"
	title           func(q *analytics.Q) func(int64) (string, error)
	params          func(id, team int64) analytics.Params
	teams, people   string // table ids
	teamsIntro      string
	teamsEmpty      string
	peopleIntro     string
	peopleSection   string
	showDates       bool
}

var completionDrill = drill{dash: "completion", dashTitle: "Course completion", object: "courses",
	title:  func(q *analytics.Q) func(int64) (string, error) { return q.CourseTitle },
	params: func(id, team int64) analytics.Params { return analytics.Params{Course: id, Team: team} },
	teams:  "completion/teams", people: "completion/learners",
	teamsIntro: "Completion of this course by team (people grouped by their manager).", teamsEmpty: "Nobody in these teams is enrolled.",
	peopleIntro: "Everyone in this team enrolled in the course.", peopleSection: "Learners", showDates: true}

var complianceDrill = drill{dash: "compliance", dashTitle: "Compliance", object: "requirements",
	title:  func(q *analytics.Q) func(int64) (string, error) { return q.RequirementTitle },
	params: func(id, team int64) analytics.Params { return analytics.Params{Requirement: id, Team: team} },
	teams:  "compliance/teams", people: "compliance/people",
	teamsIntro: "This requirement's status by team (people grouped by their manager).", teamsEmpty: "Nobody in scope is assigned this requirement.",
	peopleIntro: "Each person's status, due date and certificate.", peopleSection: "People"}

func (d drill) path(id int64) string {
	return fmt.Sprintf("/dashboards/%s/%s/%d", d.dash, d.object, id)
}

// drillPage shows one drill level: the object's teams (team < 0) or a
// team's people.
func (h *Handlers) drillPage(c *fiber.Ctx, d drill, id, team int64) error {
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	table, p := d.teams, d.params(id, 0)
	if team >= 0 {
		table, p = d.people, d.params(id, team)
	}
	return h.showView(c, v, "", func(ctx context.Context) (dash.Frame, templ.Component, error) {
		dv, err := computePage(h, ctx, v, fmt.Sprintf("drill:%s:%d:%d", table, id, team), v.viewFilters(!d.showDates), func(q *analytics.Q) (analytics.DrillView, error) {
			return q.DrillView(table, p, id, d.title(q), team >= 0)
		})
		if err != nil {
			return dash.Frame{}, nil, err
		}
		title, intro := dv.Title, d.teamsIntro
		crumbs := []dash.Crumb{{Label: d.dashTitle, Href: "/dashboards/" + d.dash + v.r.Filters.Query()}}
		body := dash.TableOnly("Teams", "section-teams", pageTable(dv.Table, v.r, p, d.teamsEmpty))
		if team >= 0 {
			title, intro = dv.Title+" · team of "+dv.Manager, d.peopleIntro
			crumbs = append(crumbs, dash.Crumb{Label: dv.Title, Href: d.path(id) + v.r.Filters.Query()})
			body = dash.TableOnly(d.peopleSection, "section-"+strings.ToLower(d.peopleSection), pageTable(dv.Table, v.r, p, ""))
		}
		f, err := h.frame(ctx, v, title, intro, v.path)
		f.ShowDates, f.ShowCourse, f.Crumbs = d.showDates, false, crumbs
		return f, body, err
	})
}

func (h *Handlers) drillTeams(d drill) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		return h.drillPage(c, d, id, -1)
	}
}

func (h *Handlers) drillPeople(d drill) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		team, err := pathID(c, "team")
		if err != nil {
			return err
		}
		return h.drillPage(c, d, id, team)
	}
}
