package handlers

import (
	"net/url"
	"reflect"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
)

// SectionJSON is a dashboard section as GET /api/v1/dashboards/:dash/:section
// sends it (see docs/DASHBOARDS.md). Data is the section's own type from
// the analytics package (KPIs, a trend, a heatmap, a table page, …), with
// snake_case keys and raw numbers; a number that has no value (a rate of
// nothing) is null.
type SectionJSON struct {
	Dashboard string     `json:"dashboard"`
	Section   string     `json:"section"`
	Version   int64      `json:"version"` // the tenant's gold version the numbers are for
	Date      string     `json:"date"`    // the tenant-local date they are for (YYYY-MM-DD)
	AsOf      *string    `json:"as_of"`   // stored time of the newest statement included; null with no data
	Filters   url.Values `json:"filters"`
	Data      any        `json:"data"`
}

// jsonSection computes one section for a request's filters and drill ids.
// typ is the Go type of what it computes, which the OpenAPI document
// describes (api_spec.go).
type jsonSection struct {
	compute func(q *analytics.Q, p analytics.Params) (any, error)
	typ     reflect.Type
	summary string
	ids     []string // the drill ids it needs (query parameters)
}

// section makes a jsonSection of fn, whose result type the document learns.
func section[T any](summary string, fn func(q *analytics.Q, p analytics.Params) (T, error), ids ...string) jsonSection {
	return jsonSection{compute: func(q *analytics.Q, p analytics.Params) (any, error) { return fn(q, p) },
		typ: reflect.TypeFor[T](), summary: summary, ids: ids}
}

// jsonSections are the sections besides tables (every table id is a
// section too: /api/v1/dashboards/completion/courses).
var jsonSections = map[string]jsonSection{
	"completion/kpis": section("Completion headline numbers", func(q *analytics.Q, _ analytics.Params) (analytics.CompletionKPIs, error) {
		return q.CompletionKPIs()
	}),
	"completion/trend": section("Completions per day or week", func(q *analytics.Q, _ analytics.Params) (analytics.Trend, error) {
		return q.CompletionTrend()
	}),
	"engagement/kpis": section("Engagement headline numbers", func(q *analytics.Q, _ analytics.Params) (analytics.EngagementKPIs, error) {
		return q.EngagementKPIs()
	}),
	"engagement/trend": section("Active learners and time per day or week", func(q *analytics.Q, _ analytics.Params) (analytics.ActivityTrend, error) {
		return q.EngagementTrend()
	}),
	"engagement/heatmap": section("Activity by weekday and hour", func(q *analytics.Q, _ analytics.Params) (analytics.Heatmap, error) {
		return q.EngagementHeatmap()
	}),
	"compliance/kpis": section("Compliance headline numbers, as of today", func(q *analytics.Q, _ analytics.Params) (analytics.ComplianceKPIs, error) {
		return q.ComplianceKPIs()
	}),
	"assessments/kpis": section("Assessment headline numbers", func(q *analytics.Q, _ analytics.Params) (analytics.AssessmentKPIs, error) {
		return q.AssessmentKPIs()
	}),
	"assessments/scores": section("Score distribution", func(q *analytics.Q, _ analytics.Params) (analytics.ScoreBins, error) {
		return q.AssessmentScores()
	}),
	"assessments/attempts-to-pass": section("Attempts learners needed to pass one course", func(q *analytics.Q, p analytics.Params) (analytics.AttemptsToPass, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return analytics.AttemptsToPass{}, err
		}
		return q.CourseAttemptsToPass(p.Course)
	}, "course_id"),
	"team/nodes": section("The organisation tree: the viewer's top nodes, or the children of learner_id; today or as_of a past day", func(q *analytics.Q, p analytics.Params) ([]analytics.TeamNode, error) {
		switch {
		case p.Learner != 0 && !p.AsOf.IsZero():
			return q.TeamChildrenAsOf(p.Learner, p.AsOf)
		case p.Learner != 0:
			return q.TeamChildren(p.Learner)
		case !p.AsOf.IsZero():
			return q.TeamStartAsOf(p.AsOf)
		}
		return q.TeamStart()
	}, "learner_id?"),
	"learner/profile": section("A learner's record (the viewer's own without learner_id)", func(q *analytics.Q, p analytics.Params) (analytics.Learner, error) {
		return q.LearnerProfile(p.Learner)
	}, "learner_id?"),
}

// activitySection is "Activity now", which shows a window of wall-clock
// time: computed per minute, and under steady ingest at most about once
// per activityRefresh (see dash_activity.go). Its version and as_of say
// which data it shows; they may be a few seconds behind the newest.
const activitySection = "engagement/activity"

// undatedSections show everything as of today whatever the range: viewers
// of every range share them.
var undatedSections = map[string]bool{"compliance/kpis": true, "team/nodes": true}

// asOfSections may be read as they stood at the end of a past day
// (as_of=YYYY-MM-DD, analytics.ParseAsOf): the team tree, from the dated
// roster. Other sections refuse as_of rather than answer for today.
var asOfSections = map[string]bool{"team/nodes": true}

// parseAsOf reads the as_of parameter of section id: a past day, or zero
// for today (as_of absent or today). A date that is not one, in the
// future or over analytics.AsOfYears back is a 400, as on the team page;
// so is as_of on a section that cannot go back in time.
func parseAsOf(c *fiber.Ctx, v *viewCtx, id string) (time.Time, error) {
	s := c.Query("as_of")
	if s != "" && !asOfSections[id] {
		return time.Time{}, fiber.NewError(fiber.StatusBadRequest, "as_of: only the team tree (team/nodes) can be read as of a past day")
	}
	day, err := analytics.ParseAsOf(s, v.r.Today)
	return day, analyticsError(err)
}

// asOfEnvelope makes a past day's answer say so: its date is that day and
// its filters carry as_of.
func asOfEnvelope(out *SectionJSON, day time.Time) {
	if day.IsZero() {
		return
	}
	out.Date = day.Format(time.DateOnly)
	if out.Filters == nil {
		out.Filters = url.Values{}
	}
	out.Filters.Set("as_of", out.Date)
}

// dashboardJSON is GET /api/v1/dashboards/:dash/:section.
func (h *Handlers) dashboardJSON(c *fiber.Ctx) error {
	return h.sectionJSON(c, c.Params("dash"), c.Params("section"))
}

// sectionJSON answers section of dashboard d (or table d/section).
func (h *Handlers) sectionJSON(c *fiber.Ctx, d, section string) error {
	id := d + "/" + section
	fn, ok := jsonSections[id]
	if !ok && !analytics.HasTable(id) && id != activitySection {
		return fiber.ErrNotFound
	}
	if auth.User(c).Role == models.RoleLearner && d != "learner" {
		return fiber.ErrNotFound
	}
	v, p, err := h.newDrillView(c)
	if err != nil {
		return err
	}
	if d == "learner" && p.Learner == 0 {
		p.Learner = v.scope.Self
	}
	if p.AsOf, err = parseAsOf(c, v, id); err != nil {
		return err
	}
	var data any
	f := v.r.Filters
	switch {
	case id == activitySection:
		f = f.WithoutTable()
		until := h.activityUntil()
		data, v.meta, err = h.activityNow(c.UserContext(), v, until)
	case ok:
		f = f.WithoutTable()
		vf := f
		if undatedSections[id] {
			vf = f.Undated()
		}
		data, err = computePage(h, c.UserContext(), v, "section:"+sectionViewName(v, id, p), vf, func(q *analytics.Q) (any, error) { return fn.compute(q, p) })
	default:
		var t analytics.Table
		t, err = h.tablePage(c, v, id, p)
		out := t.JSON()
		for i, col := range out.Columns {
			if col.Kind != "id" {
				out.Columns[i].Label = columnLabel(id, col.Key)
			}
		}
		data = out
	}
	if err != nil {
		return err
	}
	out := SectionJSON{Dashboard: d, Section: section, Version: v.meta.Version, Date: v.meta.Date.Format(time.DateOnly),
		Filters: f.Values(), Data: jsonSafe(data)}
	if !v.meta.AsOf.IsZero() {
		s := v.meta.AsOf.Format(time.RFC3339)
		out.AsOf = &s
	}
	asOfEnvelope(&out, p.AsOf)
	showsVersion(c, v.meta)
	return c.JSON(out)
}
