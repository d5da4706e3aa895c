package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// dashboardRoles may open the dashboards; learners have My learning.
var dashboardRoles = []string{models.RoleTenantAdmin, models.RoleAnalyst, models.RoleManager}

func (h *Handlers) dashboardRoutes(site fiber.Router) {
	d := site.Group("/dashboards", auth.RequireRole(dashboardRoles...))
	d.Get("/completion", h.completionPage)
	d.Get("/completion/courses/:id", h.drillTeams(completionDrill))
	d.Get("/completion/courses/:id/teams/:team", h.drillPeople(completionDrill))
	d.Get("/engagement", h.engagementPage)
	d.Get("/compliance", h.compliancePage)
	d.Get("/compliance/requirements/:id", h.drillTeams(complianceDrill))
	d.Get("/compliance/requirements/:id/teams/:team", h.drillPeople(complianceDrill))
	d.Get("/assessments", h.assessmentsPage)
	d.Get("/assessments/courses/:course", h.assessmentCoursePage)
	d.Get("/team", h.teamPage)
	d.Get("/team/nodes/:node", h.teamNodes)

	site.Get("/me", auth.RequireLogin, h.myLearning)
	site.Get("/learners/:learner", auth.RequireLogin, h.learnerPage)
	site.Get("/tables/:dash/:table", auth.RequireLogin, h.tableFragment)
	site.Get("/tables/:dash/:table/export.csv", auth.RequireLogin, h.exportCSV)
	site.Get("/tables/:dash/:table/export.xlsx", auth.RequireLogin, h.exportXLSX)
	site.Get("/api/v1/dashboards/:dash/:section", auth.RequireLogin, h.dashboardJSON)
}

// analyticsRequest reads the request's filters for the signed-in user.
func (h *Handlers) analyticsRequest(c *fiber.Ctx) (analytics.Request, error) {
	tenant, u := auth.Tenant(c), auth.User(c)
	loc := tenantLocation(tenant)
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return analytics.Request{}, fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	f, err := analytics.ParseFilters(q, analytics.Today(loc))
	if err != nil {
		return analytics.Request{}, analyticsError(err)
	}
	return analytics.Request{Tenant: tenant.ID, Loc: loc, Viewer: analytics.Viewer{Role: u.Role, Email: u.Email}, Filters: f}, nil
}

// analyze runs fn on the request's view of the data, turning the
// package's errors into responses.
func (h *Handlers) analyze(c *fiber.Ctx, fn func(q *analytics.Q) error) error {
	r, err := h.analyticsRequest(c)
	if err != nil {
		return err
	}
	return analyticsError(h.analytics.Run(c.UserContext(), r, fn))
}

func analyticsError(err error) error {
	var ie *analytics.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return fiber.NewError(fiber.StatusBadRequest, ie.Error())
	case errors.Is(err, analytics.ErrNotFound):
		return fiber.ErrNotFound
	}
	return err
}

// pathID reads a positive id from the path; anything else is a 404.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	n, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || n < 0 {
		return 0, fiber.ErrNotFound
	}
	return n, nil
}

// drillParams are the drill-down ids a table fragment, export or JSON
// section carries in its query.
func drillParams(c *fiber.Ctx) (analytics.Params, url.Values, error) {
	var p analytics.Params
	keep := url.Values{}
	for name, dst := range map[string]*int64{"course_id": &p.Course, "team_id": &p.Team, "requirement_id": &p.Requirement, "learner_id": &p.Learner} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, nil, fiber.NewError(fiber.StatusBadRequest, name+": must be a whole number (an id)")
		}
		*dst = n
		keep.Set(name, v)
	}
	return p, keep, nil
}

// frame starts a dashboard page's frame.
func (h *Handlers) frame(c *fiber.Ctx, q *analytics.Q, title, intro, path string) (dash.Frame, error) {
	opts, err := q.FilterOptions()
	f := dash.Frame{Title: title, Intro: intro, Path: path, Filters: q.F, Options: opts, ShowDates: true, ShowCourse: true}
	if !q.AsOf.IsZero() {
		f.AsOf = q.AsOf.Format("2 Jan 2006, 15:04 MST")
	}
	return f, err
}

// table builds a table view of id for the page's filters.
func table(q *analytics.Q, id string, p analytics.Params, drill url.Values, empty string) (dash.Table, error) {
	f := q.F
	q.F = f.WithoutTable()
	defer func() { q.F = f }()
	t, err := q.TablePage(id, p)
	query := q.F.Values()
	for k, vs := range drill {
		query[k] = vs
	}
	return dash.Table{T: t, URL: "/tables/" + id, Query: query, LinkQuery: q.F.Query(), Empty: empty}, err
}

// show renders a dashboard page, or its body for a filter change.
func (h *Handlers) show(c *fiber.Ctx, f dash.Frame, body templ.Component) error {
	return h.page(c, fiber.StatusOK, f.Title, dash.Page(f, body))
}

// kpi is a tile of q's data, with its "data as of".
func kpi(q *analytics.Q, id, label string, value float64, unit string) charts.KPI {
	return charts.KPI{ID: id, Label: label, Value: value, Unit: unit, AsOf: q.AsOf}
}

// upIsBad colours a rise red (overdue, failed).
func upIsBad(k charts.KPI) charts.KPI {
	k.UpIsBad = true
	return k
}

// withPrevious adds the previous period's value to a tile.
func withPrevious(k charts.KPI, prev float64, q *analytics.Q) charts.KPI {
	k.Previous, k.HasPrevious = prev, true
	k.CompareLabel = fmt.Sprintf("vs previous %d days", q.F.Days())
	return k
}

func medianValue(m int64) float64 {
	if m < 0 {
		return math.NaN()
	}
	return float64(m)
}

// trendChart draws a trend with its previous period dashed.
func trendChart(id, title, desc, unit string, t analytics.Trend) charts.LineChart {
	lc := charts.LineChart{ID: id, Title: title, Description: desc, Unit: unit, XName: "Day"}
	if t.Unit == "week" {
		lc.XName = "Week starting"
	}
	cur := charts.Series{Name: "This period"}
	prev := charts.Series{Name: "Previous period", Dashed: true}
	for _, p := range t.Points {
		lc.Labels = append(lc.Labels, p.Label)
		cur.Values = append(cur.Values, p.Value)
		prev.Values = append(prev.Values, p.Previous)
	}
	lc.Series = []charts.Series{cur, prev}
	return lc
}

// ----- course completion -----

func (h *Handlers) completionPage(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		f, err := h.frame(c, q, "Course completion", "Who is enrolled, in progress, completed and overdue in each course, and how fast people finish.", "/dashboards/completion")
		if err != nil {
			return err
		}
		k, err := q.CompletionKPIs()
		if err != nil {
			return err
		}
		trend, err := q.CompletionTrend()
		if err != nil {
			return err
		}
		courses, err := table(q, "completion/courses", analytics.Params{}, nil, "No enrolments match these filters.")
		if err != nil {
			return err
		}
		v := dash.Completion{
			KPIs: []charts.KPI{
				kpi(q, "enrolled", "Enrolled", float64(k.Enrolled), "enrolments"),
				kpi(q, "in-progress", "In progress", float64(k.InProgress), ""),
				kpi(q, "completed", "Completed", float64(k.Completed), ""),
				upIsBad(kpi(q, "overdue", "Overdue", float64(k.Overdue), "")),
				kpi(q, "completion-rate", "Completion rate", k.CompletionRate, "%"),
				withPrevious(kpi(q, "completed-in-period", "Completed in period", float64(k.CompletedInPeriod), ""), float64(k.CompletedPrevious), q),
				func() charts.KPI {
					x := upIsBad(kpi(q, "median-days", "Median days to complete", medianValue(k.MedianDays), "days"))
					if k.MedianDaysPrevious >= 0 {
						x = withPrevious(x, float64(k.MedianDaysPrevious), q)
					}
					return x
				}(),
			},
			Trend: trendChart("completion-trend", "Completions", "Completions per "+trend.Unit+" in "+q.F.RangeLabel()+", with the previous period dashed", "completions", trend),
			Table: courses,
		}
		v.Courses = completionStack(courses.T, q.F.Query())
		return h.show(c, f, dash.CompletionBody(v))
	})
}

// completionStack draws the table's page of courses as stacked bars.
func completionStack(t analytics.Table, query string) charts.StackedBarChart {
	sc := charts.StackedBarChart{ID: "completion-courses", Title: "Status by course", Unit: "learners", Category: "Course", Horizontal: true,
		Description: "Enrolments of each course on this page of the table by status"}
	names := []string{"Completed", "In progress", "Not started", "Overdue"}
	keys := []string{"completed", "in_progress", "not_started", "overdue"}
	idx := map[string]int{}
	for i, col := range t.Columns {
		idx[col.Key] = i
	}
	series := make([]charts.Series, len(names))
	for i := range series {
		series[i].Name = names[i]
	}
	series[3].Color = charts.Rose
	for _, row := range t.Rows {
		sc.Categories = append(sc.Categories, row[idx["course"]].(string))
		overdue := row[idx["overdue"]].(int64)
		for i, k := range keys {
			v := row[idx[k]].(int64)
			switch k {
			case "not_started":
				v = max(0, v-overdue) // overdue ones are shown as overdue
			case "in_progress":
				v = max(0, v-max(0, overdue-row[idx["not_started"]].(int64)))
			}
			series[i].Values = append(series[i].Values, float64(v))
		}
	}
	sc.Series = series
	return sc
}

// drill is a two-level drill-down: an object (a course, a requirement) →
// its teams (people grouped by manager) → one team's people.
type drill struct {
	dash, dashTitle string // "completion", "Course completion"
	object          string // the path segment, e.g. "courses"
	query           string // the object's drill parameter, e.g. "course_id"
	title           func(q *analytics.Q, id int64) (string, error)
	params          func(id, team int64) analytics.Params
	teams, people   string // table ids
	teamsIntro      string
	teamsEmpty      string
	peopleIntro     string
	peopleSection   string
	showDates       bool
}

var completionDrill = drill{dash: "completion", dashTitle: "Course completion", object: "courses", query: "course_id",
	title:  func(q *analytics.Q, id int64) (string, error) { return q.CourseTitle(id) },
	params: func(id, team int64) analytics.Params { return analytics.Params{Course: id, Team: team} },
	teams:  "completion/teams", people: "completion/learners",
	teamsIntro: "Completion of this course by team (people grouped by their manager).", teamsEmpty: "Nobody in these teams is enrolled.",
	peopleIntro: "Everyone in this team enrolled in the course.", peopleSection: "Learners", showDates: true}

var complianceDrill = drill{dash: "compliance", dashTitle: "Compliance", object: "requirements", query: "requirement_id",
	title:  func(q *analytics.Q, id int64) (string, error) { return q.RequirementTitle(id) },
	params: func(id, team int64) analytics.Params { return analytics.Params{Requirement: id, Team: team} },
	teams:  "compliance/teams", people: "compliance/people",
	teamsIntro: "This requirement's status by team (people grouped by their manager).", teamsEmpty: "Nobody in scope is assigned this requirement.",
	peopleIntro: "Each person's status, due date and certificate.", peopleSection: "People"}

func (d drill) path(id int64) string {
	return fmt.Sprintf("/dashboards/%s/%s/%d", d.dash, d.object, id)
}

// page starts a drill level's frame: the object's title and the way back.
func (h *Handlers) drillFrame(c *fiber.Ctx, q *analytics.Q, d drill, title, intro string, crumbs ...dash.Crumb) (dash.Frame, error) {
	f, err := h.frame(c, q, title, intro, c.Path())
	f.ShowDates, f.ShowCourse = d.showDates, false
	f.Crumbs = append([]dash.Crumb{{Label: d.dashTitle, Href: "/dashboards/" + d.dash + q.F.Query()}}, crumbs...)
	return f, err
}

func (h *Handlers) drillTeams(d drill) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		return h.analyze(c, func(q *analytics.Q) error {
			title, err := d.title(q, id)
			if err != nil {
				return err
			}
			t, err := table(q, d.teams, d.params(id, 0), url.Values{d.query: {strconv.FormatInt(id, 10)}}, d.teamsEmpty)
			if err != nil {
				return err
			}
			f, err := h.drillFrame(c, q, d, title, d.teamsIntro)
			if err != nil {
				return err
			}
			return h.show(c, f, dash.TableOnly("Teams", "section-teams", t))
		})
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
		return h.analyze(c, func(q *analytics.Q) error {
			title, err := d.title(q, id)
			if err != nil {
				return err
			}
			t, err := table(q, d.people, d.params(id, team),
				url.Values{d.query: {strconv.FormatInt(id, 10)}, "team_id": {strconv.FormatInt(team, 10)}}, "")
			if err != nil {
				return err
			}
			manager, err := q.PersonName(team)
			if err != nil {
				return err
			}
			f, err := h.drillFrame(c, q, d, title+" · team of "+manager, d.peopleIntro, dash.Crumb{Label: title, Href: d.path(id) + q.F.Query()})
			if err != nil {
				return err
			}
			return h.show(c, f, dash.TableOnly(d.peopleSection, "section-"+strings.ToLower(d.peopleSection), t))
		})
	}
}

// ----- engagement -----

func (h *Handlers) engagementPage(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		f, err := h.frame(c, q, "Engagement and activity", "Who is learning, how much and when.", "/dashboards/engagement")
		if err != nil {
			return err
		}
		k, err := q.EngagementKPIs()
		if err != nil {
			return err
		}
		tr, err := q.EngagementTrend()
		if err != nil {
			return err
		}
		hm, err := q.EngagementHeatmap()
		if err != nil {
			return err
		}
		courses, err := table(q, "engagement/courses", analytics.Params{}, nil, "No courses match these filters.")
		if err != nil {
			return err
		}
		inactive, err := table(q, "engagement/inactive", analytics.Params{}, nil, "Everyone was active in this period.")
		if err != nil {
			return err
		}
		if q.F.Course != 0 || q.F.Category != "" {
			f.Note = "The course filter applies to statements, minutes, active learners and the course table; the weekday × hour heatmap and the inactive list cover all courses."
		}
		v := dash.Engagement{
			KPIs: []charts.KPI{
				withPrevious(kpi(q, "active", "Active learners", float64(k.Active), "learners"), float64(k.ActivePrevious), q),
				kpi(q, "dau", "Active on "+q.F.To.Format("2 Jan"), float64(k.DAU), ""),
				kpi(q, "wau", "Active in the last 7 days", float64(k.WAU), ""),
				kpi(q, "mau", "Active in the last 30 days", float64(k.MAU), ""),
				withPrevious(kpi(q, "minutes", "Learning minutes", math.Round(k.Minutes), "min"), math.Round(k.MinutesPrevious), q),
				withPrevious(kpi(q, "statements", "Statements", float64(k.Statements), ""), float64(k.StatementsPrevious), q),
			},
			Activity: trendChart("statements-trend", "Statements", "Learning statements per "+tr.Statements.Unit+", with the previous period dashed", "statements", tr.Statements),
			Heatmap: charts.HeatmapChart{ID: "heatmap", Title: "When people learn", Unit: "statements", Values: hm.Values,
				Description: "Statements by weekday and hour in " + q.Loc.String() + " time, " + q.F.RangeLabel()},
			Courses:  courses,
			Inactive: inactive,
		}
		if tr.Active != nil {
			a := trendChart("active-trend", "Active learners", "Learners active per day (weekly charts show the daily average), with the previous period dashed", "learners", *tr.Active)
			v.Active = &a
		}
		return h.show(c, f, dash.EngagementBody(v))
	})
}

// ----- compliance -----

func (h *Handlers) compliancePage(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		f, err := h.frame(c, q, "Compliance and certification", "Required training as of today: who is compliant, due soon, overdue or expired.", "/dashboards/compliance")
		if err != nil {
			return err
		}
		f.ShowDates = false
		k, err := q.ComplianceKPIs()
		if err != nil {
			return err
		}
		reqs, err := table(q, "compliance/requirements", analytics.Params{}, nil, "No required training matches these filters.")
		if err != nil {
			return err
		}
		risk, err := table(q, "compliance/at-risk", analytics.Params{}, nil, "Nobody is at risk.")
		if err != nil {
			return err
		}
		v := dash.Compliance{
			KPIs: []charts.KPI{
				kpi(q, "compliance-rate", "Compliance rate", k.Rate, "%"),
				kpi(q, "assigned", "Assignments", float64(k.Assigned), ""),
				kpi(q, "compliant", "Compliant", float64(k.Compliant), ""),
				upIsBad(kpi(q, "due-soon", "Due soon", float64(k.DueSoon), "")),
				upIsBad(kpi(q, "overdue", "Overdue", float64(k.Overdue), "")),
				upIsBad(kpi(q, "expired", "Expired", float64(k.Expired), "")),
			},
			Status:       complianceStack(reqs.T),
			Requirements: reqs,
			AtRisk:       risk,
			AuditHref:    "/tables/compliance/assignments/export.csv" + q.F.WithoutTable().Query(),
		}
		return h.show(c, f, dash.ComplianceBody(v))
	})
}

func complianceStack(t analytics.Table) charts.StackedBarChart {
	sc := charts.StackedBarChart{ID: "compliance-status", Title: "Status by requirement", Unit: "people", Category: "Requirement", Horizontal: true,
		Description: "Assignments of each requirement on this page of the table by status today"}
	names := []string{"Compliant", "Not yet due", "Due soon", "Overdue", "Expired"}
	keys := []string{"compliant", "not_due", "due_soon", "overdue", "expired"}
	colors := []charts.Color{charts.Emerald, charts.Slate, charts.Amber, charts.Rose, charts.Rose}
	idx := map[string]int{}
	for i, col := range t.Columns {
		idx[col.Key] = i
	}
	for i := range names {
		s := charts.Series{Name: names[i], Color: colors[i]}
		for _, row := range t.Rows {
			s.Values = append(s.Values, float64(row[idx[keys[i]]].(int64)))
		}
		sc.Series = append(sc.Series, s)
	}
	for _, row := range t.Rows {
		sc.Categories = append(sc.Categories, row[idx["requirement"]].(string))
	}
	return sc
}

// ----- assessments -----

func scoreHistogram(id string, s analytics.ScoreBins, desc string) charts.HistogramChart {
	hc := charts.HistogramChart{ID: id, Title: "Score distribution", Unit: "attempts", Description: desc}
	for b, n := range s.Bins {
		hc.Bins = append(hc.Bins, charts.Bin{Label: analytics.ScoreBandLabel(b), From: float64(b * 10), To: float64(b*10 + 10), Count: float64(n)})
	}
	return hc
}

func (h *Handlers) assessmentKPIs(q *analytics.Q) ([]charts.KPI, error) {
	k, err := q.AssessmentKPIs()
	if err != nil {
		return nil, err
	}
	return []charts.KPI{
		withPrevious(kpi(q, "pass-rate", "Pass rate", k.PassRate, "%"), k.PassRatePrevious, q),
		withPrevious(kpi(q, "attempts", "Attempts", float64(k.Attempts), ""), float64(k.AttemptsPrevious), q),
		kpi(q, "passed", "Passed", float64(k.Passed), ""),
		upIsBad(kpi(q, "failed", "Failed", float64(k.Failed), "")),
	}, nil
}

func (h *Handlers) assessmentsPage(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		f, err := h.frame(c, q, "Assessment performance", "Pass rates, scores and attempts; open a course for its attempts and question-level results.", "/dashboards/assessments")
		if err != nil {
			return err
		}
		kpis, err := h.assessmentKPIs(q)
		if err != nil {
			return err
		}
		s, err := q.AssessmentScores()
		if err != nil {
			return err
		}
		courses, err := table(q, "assessments/courses", analytics.Params{}, nil, "No assessment attempts match these filters.")
		if err != nil {
			return err
		}
		return h.show(c, f, dash.AssessmentsBody(dash.Assessments{KPIs: kpis, Courses: courses,
			Scores: scoreHistogram("scores", s, "Scored attempts by score band, "+q.F.RangeLabel())}))
	})
}

func (h *Handlers) assessmentCoursePage(c *fiber.Ctx) error {
	course, err := pathID(c, "course")
	if err != nil {
		return err
	}
	return h.analyze(c, func(q *analytics.Q) error {
		title, err := q.CourseTitle(course)
		if err != nil {
			return err
		}
		f, err := h.frame(c, q, title, "This course's attempts, scores and question-level results.", "/dashboards/assessments/courses/"+strconv.FormatInt(course, 10))
		if err != nil {
			return err
		}
		f.ShowCourse = false
		f.Crumbs = []dash.Crumb{{Label: "Assessment performance", Href: "/dashboards/assessments" + q.F.Query()}}
		q.F.Course, q.F.Category = course, ""
		kpis, err := h.assessmentKPIs(q)
		if err != nil {
			return err
		}
		s, err := q.AssessmentScores()
		if err != nil {
			return err
		}
		atp, err := q.CourseAttemptsToPass(course)
		if err != nil {
			return err
		}
		kpis = append(kpis, kpi(q, "attempts-to-pass", "Average attempts to pass", math.Round(atp.Average*10)/10, ""))
		q.F.Course = 0
		drill := url.Values{"course_id": {strconv.FormatInt(course, 10)}}
		attempts, err := table(q, "assessments/attempts", analytics.Params{Course: course}, drill, "No attempts in this period.")
		if err != nil {
			return err
		}
		questions, err := table(q, "assessments/questions", analytics.Params{Course: course}, drill, "No question-level results (cmi.interaction statements) in this period.")
		if err != nil {
			return err
		}
		bars := charts.BarChart{ID: "attempts-to-pass", Title: "Attempts to pass", Unit: "learners", Category: "Attempts",
			Description: "Learners who passed, by the attempts it took (all time)"}
		for i, n := range atp.Bins {
			label := strconv.Itoa(i + 1)
			if i == 4 {
				label = "5 or more"
			}
			bars.Bars = append(bars.Bars, charts.Bar{Label: label, Value: float64(n)})
		}
		return h.show(c, f, dash.AssessmentCourseBody(dash.AssessmentCourse{KPIs: kpis, AttemptsToPass: bars,
			Scores: scoreHistogram("course-scores", s, "Scored attempts by score band, "+q.F.RangeLabel()), Attempts: attempts, Questions: questions}))
	})
}

// ----- team -----

func (h *Handlers) teamPage(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		f, err := h.frame(c, q, "Team view", "The organisation as a tree, with each part's completion and compliance.", "/dashboards/team")
		if err != nil {
			return err
		}
		f.ShowDates = false
		nodes, err := q.TeamStart()
		if err != nil {
			return err
		}
		return h.show(c, f, dash.TeamBody(dash.Team{Nodes: nodes, ChildrenURL: "/dashboards/team/nodes/", Query: q.F.Query()}))
	})
}

func (h *Handlers) teamNodes(c *fiber.Ctx) error {
	node, err := pathID(c, "node")
	if err != nil {
		return err
	}
	return h.analyze(c, func(q *analytics.Q) error {
		nodes, err := q.TeamChildren(node)
		if err != nil {
			return err
		}
		return h.fragment(c, fiber.StatusOK, dash.TeamNodes(dash.Team{Nodes: nodes, ChildrenURL: "/dashboards/team/nodes/", Query: q.F.Query()}))
	})
}

// ----- people -----

func (h *Handlers) myLearning(c *fiber.Ctx) error {
	return h.analyze(c, func(q *analytics.Q) error {
		if q.Scope.Self == 0 {
			return h.page(c, fiber.StatusOK, "My learning", dash.Page(dash.Frame{Title: "My learning", Path: "/me"},
				dash.NoRecord()))
		}
		return h.learner(c, q, q.Scope.Self, "My learning")
	})
}

func (h *Handlers) learnerPage(c *fiber.Ctx) error {
	id, err := pathID(c, "learner")
	if err != nil {
		return err
	}
	return h.analyze(c, func(q *analytics.Q) error { return h.learner(c, q, id, "") })
}

func (h *Handlers) learner(c *fiber.Ctx, q *analytics.Q, id int64, title string) error {
	p, err := q.LearnerProfile(id)
	if err != nil {
		return err
	}
	if title == "" {
		title = p.Name
	}
	drill := url.Values{"learner_id": {strconv.FormatInt(id, 10)}}
	v := dash.LearnerPage{P: p, KPIs: []charts.KPI{
		kpi(q, "enrolled", "Courses", float64(p.Enrolled), ""),
		kpi(q, "in-progress", "In progress", float64(p.InProgress), ""),
		kpi(q, "completed", "Completed", float64(p.Completed), ""),
		upIsBad(kpi(q, "overdue", "Overdue", float64(p.Overdue), "")),
		kpi(q, "compliant", "Required training done", float64(p.Compliant), "of "+strconv.FormatInt(p.Assigned, 10)),
	}}
	if v.Courses, err = table(q, "learner/enrollments", analytics.Params{Learner: id}, drill, "No courses yet."); err != nil {
		return err
	}
	if v.Certificates, err = table(q, "learner/certificates", analytics.Params{Learner: id}, drill, "No required training."); err != nil {
		return err
	}
	if v.Attempts, err = table(q, "learner/attempts", analytics.Params{Learner: id}, drill, "No assessment attempts."); err != nil {
		return err
	}
	if p.ManagerID != 0 && q.CanSee(p.ManagerID) == nil {
		v.ManagerHref = "/learners/" + strconv.FormatInt(p.ManagerID, 10)
	}
	f := dash.Frame{Title: title, Path: c.Path()}
	if !q.AsOf.IsZero() {
		f.AsOf = q.AsOf.Format("2 Jan 2006, 15:04 MST")
	}
	return h.page(c, fiber.StatusOK, title, dash.Page(f, dash.LearnerBody(v)))
}

// ----- tables, exports and JSON -----

// tableID is the table a /tables/:dash/:table request names, if the
// user's role may ask for it (learners: only learner tables).
func tableID(c *fiber.Ctx) (string, error) {
	id := c.Params("dash") + "/" + c.Params("table")
	if !analytics.HasTable(id) || (auth.User(c).Role == models.RoleLearner && c.Params("dash") != "learner") {
		return "", fiber.ErrNotFound
	}
	return id, nil
}

func (h *Handlers) tableFragment(c *fiber.Ctx) error {
	id, err := tableID(c)
	if err != nil {
		return err
	}
	p, drill, err := drillParams(c)
	if err != nil {
		return err
	}
	return h.analyze(c, func(q *analytics.Q) error {
		t, err := q.TablePage(id, p)
		if err != nil {
			return err
		}
		query := q.F.WithoutTable().Values()
		for k, vs := range drill {
			query[k] = vs
		}
		if q.F.Q != "" {
			query.Set("q", q.F.Q)
		}
		view := dash.TableView(dash.Table{T: t, URL: "/tables/" + id, Query: query, LinkQuery: q.F.WithoutTable().Query()})
		if htmx.IsRequest(c) {
			return h.fragment(c, fiber.StatusOK, view)
		}
		return h.page(c, fiber.StatusOK, t.Title, dash.Page(dash.Frame{Title: t.Title, Path: c.Path()}, view))
	})
}

// exportName is the file name of an export: tenant, dashboard, table, date.
func exportName(c *fiber.Ctx, ext string) string {
	return fmt.Sprintf("%s-%s-%s-%s.%s", auth.Tenant(c).Slug, c.Params("dash"), c.Params("table"),
		analytics.Today(tenantLocation(auth.Tenant(c))).Format(time.DateOnly), ext)
}

func (h *Handlers) dashboardJSON(c *fiber.Ctx) error {
	d, section := c.Params("dash"), c.Params("section")
	if auth.User(c).Role == models.RoleLearner && d != "learner" {
		return fiber.ErrNotFound
	}
	p, _, err := drillParams(c)
	if err != nil {
		return err
	}
	return h.analyze(c, func(q *analytics.Q) error {
		out := fiber.Map{"dashboard": d, "section": section, "as_of": asOfJSON(q), "filters": q.F.Values()}
		if d == "learner" && p.Learner == 0 {
			p.Learner = q.Scope.Self
		}
		var data any
		var err error
		switch d + "/" + section {
		case "completion/kpis":
			data, err = q.CompletionKPIs()
		case "completion/trend":
			data, err = q.CompletionTrend()
		case "engagement/kpis":
			data, err = q.EngagementKPIs()
		case "engagement/trend":
			data, err = q.EngagementTrend()
		case "engagement/heatmap":
			data, err = q.EngagementHeatmap()
		case "compliance/kpis":
			data, err = q.ComplianceKPIs()
		case "assessments/kpis":
			data, err = q.AssessmentKPIs()
		case "assessments/scores":
			data, err = q.AssessmentScores()
		case "assessments/attempts-to-pass":
			if _, err = q.CourseTitle(p.Course); err == nil {
				data, err = q.CourseAttemptsToPass(p.Course)
			}
		case "team/nodes":
			if p.Learner != 0 {
				data, err = q.TeamChildren(p.Learner)
			} else {
				data, err = q.TeamStart()
			}
		case "learner/profile":
			data, err = q.LearnerProfile(p.Learner)
		default:
			id := d + "/" + section
			if !analytics.HasTable(id) {
				return fiber.ErrNotFound
			}
			t, err := q.TablePage(id, p)
			if err != nil {
				return err
			}
			rows := make([]map[string]any, len(t.Rows))
			for i, r := range t.Rows {
				rows[i] = analytics.Record(t.Columns, r)
			}
			out["columns"], out["rows"], out["total"], out["page"], out["page_size"] = jsonColumns(t.Columns), rows, t.Total, t.Page, analytics.PageSize
			return c.JSON(out)
		}
		if err != nil {
			return err
		}
		out["data"] = jsonSafe(data)
		return c.JSON(out)
	})
}

func asOfJSON(q *analytics.Q) any {
	if q.AsOf.IsZero() {
		return nil
	}
	return q.AsOf.Format(time.RFC3339)
}

func jsonColumns(cols []analytics.Column) []fiber.Map {
	out := make([]fiber.Map, len(cols))
	for i, c := range cols {
		out[i] = fiber.Map{"key": c.Key, "label": c.Label}
	}
	return out
}
