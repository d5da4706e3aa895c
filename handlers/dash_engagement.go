package handlers

import (
	"math"

	"github.com/a-h/templ"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

var engagementDashboard = dashboard[analytics.EngagementView]{name: "engagement", title: "Engagement and activity",
	intro:    "Who is learning, how much and when.",
	activity: true,
	view:     func(q *analytics.Q) (analytics.EngagementView, error) { return q.EngagementView() },
	body: func(v *viewCtx, f *dash.Frame, d analytics.EngagementView) templ.Component {
		fl := v.r.Filters
		if fl.Course != 0 || fl.Category != "" {
			f.Note = "The course filter applies to statements, minutes, active learners and the course table; the weekday × hour heatmap and the inactive list cover all courses."
		}
		k := d.KPIs
		b := dash.Engagement{
			KPIs: []charts.KPI{
				withPrevious(kpi(v, "active", "Active learners", float64(k.Active), "learners"), float64(k.ActivePrevious), v),
				kpi(v, "dau", "Active on "+fl.To.Format("2 Jan"), float64(k.DAU), ""),
				kpi(v, "wau", "Active in the last 7 days", float64(k.WAU), ""),
				kpi(v, "mau", "Active in the last 30 days", float64(k.MAU), ""),
				withPrevious(kpi(v, "minutes", "Learning minutes", math.Round(k.Minutes), "min"), math.Round(k.MinutesPrevious), v),
				withPrevious(kpi(v, "statements", "Statements", float64(k.Statements), ""), float64(k.StatementsPrevious), v),
			},
			Activity: trendChart("statements-trend", "Statements", "Learning statements per "+d.Trend.Statements.Unit+", with the previous period dashed",
				"statements", d.Trend.Statements),
			Heatmap: charts.HeatmapChart{ID: "heatmap", Title: "When people learn", Unit: "statements", Values: d.Heatmap.Values,
				Description: "Statements by weekday and hour in " + v.r.Loc.String() + " time, " + fl.RangeLabel()},
			Courses:  pageTable(d.Courses, v.r, analytics.Params{}, "No courses match these filters."),
			Inactive: pageTable(d.Inactive, v.r, analytics.Params{}, "Everyone was active in this period."),
		}
		if d.Trend.Active != nil {
			a := trendChart("active-trend", "Active learners", "Learners active per day (weekly charts show the daily average), with the previous period dashed",
				"learners", *d.Trend.Active)
			b.Active = &a
		}
		return dash.EngagementBody(b)
	},
}
