package handlers

import (
	"github.com/a-h/templ"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

var complianceDashboard = dashboard[analytics.ComplianceView]{name: "compliance", title: "Compliance and certification",
	intro:   "Required training as of today: who is compliant, due soon, overdue or expired.",
	undated: true,
	view:    func(q *analytics.Q) (analytics.ComplianceView, error) { return q.ComplianceView() },
	body: func(v *viewCtx, f *dash.Frame, d analytics.ComplianceView) templ.Component {
		k := d.KPIs
		return dash.ComplianceBody(dash.Compliance{
			KPIs: []charts.KPI{
				kpi(v, "compliance-rate", "Compliance rate", k.Rate, "%"),
				kpi(v, "assigned", "Assignments", float64(k.Assigned), ""),
				kpi(v, "compliant", "Compliant", float64(k.Compliant), ""),
				upIsBad(kpi(v, "due-soon", "Due soon", float64(k.DueSoon), "")),
				upIsBad(kpi(v, "overdue", "Overdue", float64(k.Overdue), "")),
				upIsBad(kpi(v, "expired", "Expired", float64(k.Expired), "")),
			},
			Status:       complianceStack(d.Status),
			Requirements: pageTable(d.Requirements, v.r, analytics.Params{}, "No required training matches these filters."),
			AtRisk:       pageTable(d.AtRisk, v.r, analytics.Params{}, "Nobody is at risk."),
			AuditHref:    "/tables/compliance/assignments/export.csv" + v.pageFilters().Query(),
			DueSoonDays:  analytics.DueSoonDays,
		})
	},
}

// complianceStack draws requirements by status as stacked bars.
func complianceStack(status []analytics.RequirementStatus) charts.StackedBarChart {
	sc := charts.StackedBarChart{ID: "compliance-status", Title: "Status by requirement", Unit: "people", Category: "Requirement", Horizontal: true,
		Description: "Assignments of each requirement on this page of the table by status today"}
	sc.Series = []charts.Series{{Name: "Compliant", Color: charts.Emerald}, {Name: "Not yet due", Color: charts.Slate},
		{Name: "Due soon", Color: charts.Amber}, {Name: "Overdue", Color: charts.Rose}, {Name: "Expired", Color: charts.Violet}}
	for _, s := range status {
		sc.Categories = append(sc.Categories, s.Requirement)
		for i, n := range []int64{s.Compliant, s.NotDue, s.DueSoon, s.Overdue, s.Expired} {
			sc.Series[i].Values = append(sc.Series[i].Values, float64(n))
		}
	}
	return sc
}
