package handlers

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/format"
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
		body := d.glance(v, dv, false)
		body.Title, body.TestID, body.Table = "Teams", "section-teams", pageTable(dv.Table, v.r, p, d.teamsEmpty)
		if team >= 0 {
			title, intro = dv.Title+" · team of "+dv.Manager, d.peopleIntro
			crumbs = append(crumbs, dash.Crumb{Label: dv.Title, Href: d.path(id) + v.r.Filters.Query()})
			body = d.glance(v, dv, true)
			body.Title, body.TestID, body.Table = d.peopleSection, "section-"+strings.ToLower(d.peopleSection), pageTable(dv.Table, v.r, p, "")
		}
		f, err := h.frame(ctx, v, title, intro, v.path)
		f.ShowDates, f.ShowCourse, f.Crumbs = d.showDates, false, crumbs
		return f, dash.DrillBody(body), err
	})
}

// glance is a drill level's tiles and chart, from the totals of all its
// rows: for the teams level the totals and each team's rate (the teams of
// the table's page), for a team's people how many have each status.
func (d drill) glance(v *viewCtx, dv analytics.DrillView, people bool) dash.Drill {
	s := dv.Summary
	var out dash.Drill
	if people {
		label := "People"
		if d.dash == "completion" {
			label = "Learners"
		}
		out.KPIs = []charts.KPI{kpi(v, "drill-rows", label, float64(s.Rows), "")}
		st := charts.StackedBarChart{ID: "drill-status", Title: label + " by status", Unit: "people", Category: "Team", Horizontal: true,
			Description: "How many of the team's " + strings.ToLower(label) + " have each status", Categories: []string{dv.Manager}}
		for _, c := range s.Statuses {
			out.KPIs = append(out.KPIs, kpi(v, "drill-"+strings.ReplaceAll(c.Status, " ", "-"), capital(c.Status), float64(c.Rows), ""))
			st.Series = append(st.Series, charts.Series{Name: capital(c.Status), Values: []float64{float64(c.Rows)}, Color: statusColor(c.Status)})
		}
		out.Stack = &st
		return out
	}
	rate, rateLabel := "completion_rate", "Completion rate"
	out.KPIs = []charts.KPI{kpi(v, "drill-rows", "Teams", float64(s.Rows), "")}
	if d.dash == "completion" {
		out.KPIs = append(out.KPIs, kpi(v, "drill-enrolled", "Enrolled", float64(s.Sums["enrolled"]), ""),
			kpi(v, "drill-completed", "Completed", float64(s.Sums["completed"]), ""),
			upIsBad(kpi(v, "drill-overdue", "Overdue", float64(s.Sums["overdue"]), "")),
			kpi(v, "drill-rate", rateLabel, s.Rate("completed", "enrolled"), "%"))
	} else {
		rate, rateLabel = "compliance_rate", "Compliance rate"
		out.KPIs = append(out.KPIs, kpi(v, "drill-assigned", "Assigned", float64(s.Sums["assigned"]), ""),
			upIsBad(kpi(v, "drill-overdue", "Overdue", float64(s.Sums["overdue"]), "")),
			upIsBad(kpi(v, "drill-expired", "Expired", float64(s.Sums["expired"]), "")),
			kpi(v, "drill-rate", rateLabel, s.Rate("compliant", "assigned"), "%"))
	}
	bars := charts.BarChart{ID: "drill-teams", Title: rateLabel + " of the first teams", Unit: "%", Category: "Team", Horizontal: true, Max: 100,
		Description: rateLabel + " of the first teams of the table, in its order, coloured as the team tree is: on track from 80%, behind from 60%, lagging below",
		Legend: []charts.LegendEntry{{Name: "on track (80% or more)", Color: charts.Emerald}, {Name: "behind (60–79.9%)", Color: charts.Amber},
			{Name: "lagging (under 60%)", Color: charts.Rose}}}
	col := map[string]int{}
	for i, c := range dv.Table.Columns {
		col[c.Key] = i
	}
	for i, r := range dv.Table.Rows {
		if i == drillBars {
			break
		}
		name, _ := r[col["team"]].(string)
		val, ok := r[col[rate]].(float64)
		if !ok {
			val = math.NaN()
		}
		bars.Bars = append(bars.Bars, charts.Bar{Label: name, Value: val, Color: bandColor[dash.Band(val, format.Finite(val))]})
	}
	out.Bars = &bars
	return out
}

// bandColor is the bar colour of each band of dash.Band (the team tree's
// colours); a team without a rate has no bar to colour.
var bandColor = map[string]charts.Color{"good": charts.Emerald, "fair": charts.Amber, "lag": charts.Rose}

// drillBars is how many teams a drill level's chart shows.
const drillBars = 10

// statusColor is a status's colour, as on the dashboards' charts: the
// completion stack's completed, in progress and not started, compliance's
// five statuses (see charts.Hex).
func statusColor(status string) charts.Color {
	switch status {
	case "completed":
		return charts.Brand
	case "in progress", "compliant":
		return charts.Emerald
	case "enrolled", "due soon":
		return charts.Amber
	case "overdue":
		return charts.Rose
	case "expired":
		return charts.Violet
	case "not due":
		return charts.Slate
	}
	return charts.Sky
}

// capital is a status as a label: "enrolled" (no progress yet) reads
// "Not started" as on the completion dashboard.
func capital(s string) string {
	switch s {
	case "":
		return s
	case "enrolled":
		return "Not started"
	}
	return strings.ToUpper(s[:1]) + s[1:]
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
