package handlers

import (
	"github.com/a-h/templ"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

var completionDashboard = dashboard[analytics.CompletionView]{name: "completion", title: "Course completion",
	intro: "Who is enrolled, in progress, completed and overdue in each course, and how fast people finish.",
	view:  func(q *analytics.Q) (analytics.CompletionView, error) { return q.CompletionView() },
	body: func(v *viewCtx, f *dash.Frame, d analytics.CompletionView) templ.Component {
		k := d.KPIs
		median := upIsBad(kpi(v, "median-days", "Median days to complete", medianValue(k.MedianDays), "days"))
		if k.MedianDaysPrevious >= 0 {
			median = withPrevious(median, float64(k.MedianDaysPrevious), v)
		}
		return dash.CompletionBody(dash.Completion{
			KPIs: []charts.KPI{
				kpi(v, "enrolled", "Enrolled", float64(k.Enrolled), "enrolments"),
				kpi(v, "in-progress", "In progress", float64(k.InProgress), ""),
				kpi(v, "completed", "Completed", float64(k.Completed), ""),
				upIsBad(kpi(v, "overdue", "Overdue", float64(k.Overdue), "")),
				kpi(v, "completion-rate", "Completion rate", k.CompletionRate, "%"),
				withPrevious(kpi(v, "completed-in-period", "Completed in period", float64(k.CompletedInPeriod), ""), float64(k.CompletedPrevious), v),
				median,
			},
			Trend: trendChart("completion-trend", "Completions", "Completions per "+d.Trend.Unit+" in "+v.r.Filters.RangeLabel()+
				", with the previous period dashed", "completions", d.Trend),
			Table:          pageTable(d.Courses, v.r, analytics.Params{}, "No enrolments match these filters."),
			EnrolmentsCSV:  "/tables/completion/enrolments/export.csv" + v.pageFilters().Query(),
			EnrolmentsXLSX: "/tables/completion/enrolments/export.xlsx" + v.pageFilters().Query(),
			Courses:        completionStack(d.Status),
		})
	},
}

// completionStack draws courses by status as stacked bars.
func completionStack(status []analytics.CourseStatus) charts.StackedBarChart {
	sc := charts.StackedBarChart{ID: "completion-courses", Title: "Status by course", Unit: "learners", Category: "Course", Horizontal: true,
		Description: "Enrolments of each course on this page of the table by status"}
	series := []charts.Series{{Name: "Completed"}, {Name: "In progress"}, {Name: "Not started"}, {Name: "Overdue", Color: charts.Rose}}
	for _, s := range status {
		sc.Categories = append(sc.Categories, s.Course)
		for i, n := range []int64{s.Completed, s.InProgress, s.NotStarted, s.Overdue} {
			series[i].Values = append(series[i].Values, float64(n))
		}
	}
	sc.Series = series
	return sc
}
