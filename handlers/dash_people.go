package handlers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

func (h *Handlers) myLearning(c *fiber.Ctx) error {
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	if v.scope.Self == 0 {
		return h.page(c, fiber.StatusOK, "My learning", dash.Page(dash.Frame{Title: "My learning", Path: "/me"}, dash.NoRecord()))
	}
	return h.learner(c, v, v.scope.Self, "My learning")
}

func (h *Handlers) learnerPage(c *fiber.Ctx) error {
	id, err := pathID(c, "learner")
	if err != nil {
		return err
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	return h.learner(c, v, id, "")
}

// learnerViewName names a learner page's view: who may see whom depends
// on the viewer's own record too.
func learnerViewName(v *viewCtx, id int64) string {
	return fmt.Sprintf("learner:%d:self=%d", id, v.scope.Self)
}

func (h *Handlers) learner(c *fiber.Ctx, v *viewCtx, id int64, title string) error {
	// The links to the person's data: their own download on /me, the
	// data-rights actions for an admin (whose page is then not shared
	// with analysts, who see the same scope).
	name, dataHref, manageHref := learnerViewName(v, id), "", ""
	switch {
	case title != "":
		dataHref = "/me/data.zip"
	case auth.User(c).Role == models.RoleTenantAdmin:
		name += ":admin"
		dataHref = "/admin/people/" + strconv.FormatInt(id, 10) + "/data.zip"
		manageHref = "/admin/data?person=" + strconv.FormatInt(id, 10)
	}
	return h.showView(c, v, name, func(ctx context.Context) (dash.Frame, templ.Component, error) {
		d, err := computePage(h, ctx, v, learnerViewName(v, id), v.pageFilters(), func(q *analytics.Q) (analytics.LearnerView, error) { return q.LearnerView(id) })
		if err != nil {
			return dash.Frame{}, nil, err
		}
		p := d.Profile
		title := title
		if title == "" {
			title = p.Name
		}
		lp := dash.LearnerPage{
			P: dash.Profile{Name: p.Name, Email: p.Email, EmployeeID: p.EmployeeID, Department: p.Department, Location: p.Location,
				JobTitle: p.JobTitle, Manager: p.Manager, Status: p.Status},
			KPIs: []charts.KPI{
				kpi(v, "enrolled", "Courses", float64(p.Enrolled), ""),
				kpi(v, "in-progress", "In progress", float64(p.InProgress), ""),
				kpi(v, "completed", "Completed", float64(p.Completed), ""),
				upIsBad(kpi(v, "overdue", "Overdue", float64(p.Overdue), "")),
				kpi(v, "compliant", "Required training done", float64(p.Compliant), "of "+format.Int(p.Assigned)),
			},
		}
		if p.LastActive != nil {
			lp.P.LastActive = *p.LastActive
		}
		params := analytics.Params{Learner: id}
		lp.Courses = pageTable(d.Courses, v.r, params, "No courses yet.")
		lp.Certificates = pageTable(d.Certificates, v.r, params, "No required training.")
		lp.Attempts = pageTable(d.Attempts, v.r, params, "No assessment attempts.")
		lp.DataHref, lp.ManageHref = dataHref, manageHref
		if d.ManagerVisible {
			lp.ManagerHref = "/learners/" + strconv.FormatInt(p.ManagerID, 10)
		}
		return dash.Frame{Title: title, Path: v.path, AsOf: asOfText(v.meta), Live: true, Version: v.meta.Version}, dash.LearnerBody(lp), nil
	})
}
