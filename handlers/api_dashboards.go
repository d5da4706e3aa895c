package handlers

import (
	"net/url"
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
type jsonSection func(q *analytics.Q, p analytics.Params) (any, error)

// jsonSections are the sections besides tables (every table id is a
// section too: /api/v1/dashboards/completion/courses).
var jsonSections = map[string]jsonSection{
	"completion/kpis":    func(q *analytics.Q, _ analytics.Params) (any, error) { return q.CompletionKPIs() },
	"completion/trend":   func(q *analytics.Q, _ analytics.Params) (any, error) { return q.CompletionTrend() },
	"engagement/kpis":    func(q *analytics.Q, _ analytics.Params) (any, error) { return q.EngagementKPIs() },
	"engagement/trend":   func(q *analytics.Q, _ analytics.Params) (any, error) { return q.EngagementTrend() },
	"engagement/heatmap": func(q *analytics.Q, _ analytics.Params) (any, error) { return q.EngagementHeatmap() },
	"compliance/kpis":    func(q *analytics.Q, _ analytics.Params) (any, error) { return q.ComplianceKPIs() },
	"assessments/kpis":   func(q *analytics.Q, _ analytics.Params) (any, error) { return q.AssessmentKPIs() },
	"assessments/scores": func(q *analytics.Q, _ analytics.Params) (any, error) { return q.AssessmentScores() },
	"assessments/attempts-to-pass": func(q *analytics.Q, p analytics.Params) (any, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return nil, err
		}
		return q.CourseAttemptsToPass(p.Course)
	},
	"team/nodes": func(q *analytics.Q, p analytics.Params) (any, error) {
		if p.Learner != 0 {
			return q.TeamChildren(p.Learner)
		}
		return q.TeamStart()
	},
	"learner/profile": func(q *analytics.Q, p analytics.Params) (any, error) { return q.LearnerProfile(p.Learner) },
}

// activitySection is "Activity now", which shows a window of wall-clock
// time: computed per minute (see dash_activity.go), not per version alone.
const activitySection = "engagement/activity"

// undatedSections show everything as of today whatever the range: viewers
// of every range share them.
var undatedSections = map[string]bool{"compliance/kpis": true, "team/nodes": true}

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
	var data any
	f := v.r.Filters
	switch {
	case id == activitySection:
		f = f.WithoutTable()
		until := h.activityUntil()
		data, err = computePage(h, c.UserContext(), v, "section:"+activityViewName(until), f.Undated(),
			func(q *analytics.Q) (any, error) { return q.ActivityNow(until) })
	case ok:
		f = f.WithoutTable()
		vf := f
		if undatedSections[id] {
			vf = f.Undated()
		}
		data, err = computePage(h, c.UserContext(), v, "section:"+sectionViewName(v, id, p), vf, func(q *analytics.Q) (any, error) { return fn(q, p) })
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
	showsVersion(c, v.meta)
	return c.JSON(out)
}
