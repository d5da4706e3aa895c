package handlers

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/home"
)

// homeNumbers are the headline numbers of the viewer's home page, read
// from the same shared views as the dashboards' JSON sections (and My
// learning for a learner): an admin's or analyst's for the organisation, a
// manager's for their people, a learner's training due next.
func (h *Handlers) homeNumbers(c *fiber.Ctx) (home.Numbers, error) {
	var out home.Numbers
	u := auth.User(c)
	v, err := h.newView(c)
	if err != nil {
		return out, err
	}
	if u.Role == models.RoleLearner {
		return h.dueNext(c, v)
	}
	// The three sections are independent views: read them at once, so a
	// cold cache costs the slowest of them, not their sum.
	sections := []struct {
		id      string
		undated bool
	}{{"completion/kpis", false}, {"compliance/kpis", true}, {"engagement/kpis", false}}
	data := make([]any, len(sections))
	metas := make([]analytics.Meta, len(sections))
	errs := make([]error, len(sections))
	var wg sync.WaitGroup
	for i, sec := range sections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := v.pageFilters()
			if sec.undated {
				f = f.Undated()
			}
			var p analytics.Params
			data[i], metas[i], errs[i] = compute(h, c.UserContext(), v, "section:"+sectionViewName(v, sec.id, p), f,
				func(q *analytics.Q) (any, error) { return jsonSections[sec.id].compute(q, p) })
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	var asOf time.Time
	for _, m := range metas {
		if m.AsOf.After(asOf) {
			asOf = m.AsOf
		}
	}
	cd, qd, ed := data[0], data[1], data[2]
	ck, qk, ek := cd.(analytics.CompletionKPIs), qd.(analytics.ComplianceKPIs), ed.(analytics.EngagementKPIs)
	days := v.r.Filters.Days()
	out.Tiles = []charts.KPI{
		{ID: "home-completion", Label: "Completion rate", Value: ck.CompletionRate, Unit: "%", Href: "/dashboards/completion"},
		{ID: "home-overdue", Label: "Overdue enrolments", Value: float64(ck.Overdue), Href: "/dashboards/completion", UpIsBad: true},
		{ID: "home-compliance", Label: "Compliance rate", Value: qk.Rate, Unit: "%", Href: "/dashboards/compliance"},
		{ID: "home-active", Label: fmt.Sprintf("Active learners, last %d days", days), Value: float64(ek.Active), Href: "/dashboards/engagement"},
	}
	// The page says when its newest numbers are from; a tile whose view
	// is older says so itself.
	for i, sec := range []int{0, 0, 1, 2} {
		out.Tiles[i].AsOf = olderAsOf(metas[sec].AsOf, asOf, v.r.Loc)
	}
	out.AsOf = asOfText(analytics.Meta{AsOf: asOf})
	if u.Role == models.RoleManager {
		out.Scope = "Everyone who reports to you, solid or dotted line"
	} else {
		out.Scope = "Your whole organisation"
	}
	return out, nil
}

// dueNext is a learner's required training due next: the first of their
// certificates (by due date) not yet done, and how many are overdue.
func (h *Handlers) dueNext(c *fiber.Ctx, v *viewCtx) (home.Numbers, error) {
	var out home.Numbers
	if v.scope.Self == 0 {
		return out, nil
	}
	d, err := computePage(h, c.UserContext(), v, learnerViewName(v, v.scope.Self), v.pageFilters(),
		func(q *analytics.Q) (analytics.LearnerView, error) { return q.LearnerView(v.scope.Self) })
	if err != nil {
		return out, err
	}
	out.AsOf = asOfText(v.meta)
	out.Tiles = []charts.KPI{
		{ID: "home-my-overdue", Label: "Overdue courses", Value: float64(d.Profile.Overdue), Href: "/me", UpIsBad: true},
		{ID: "home-my-completed", Label: "Courses completed", Value: float64(d.Profile.Completed), Href: "/me"},
		{ID: "home-my-compliant", Label: "Required training done", Value: float64(d.Profile.Compliant), Unit: "of " + format.Int(d.Profile.Assigned), Href: "/me"},
	}
	t := d.Certificates
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c.Key] = i
	}
	for _, r := range t.Rows {
		status, _ := r[col["status"]].(string)
		if status == "compliant" {
			continue
		}
		out.Due = append(out.Due, home.Due{What: fmt.Sprint(r[col["requirement"]]), Status: status, When: dueText(r[col["due_on"]])})
		if len(out.Due) == 3 {
			break
		}
	}
	return out, nil
}

func dueText(v any) string {
	if t, ok := v.(time.Time); ok {
		return format.Date(t)
	}
	return ""
}

// olderAsOf is when a section's data is from, in loc, if that is before
// the page's (then the section shows it); zero otherwise.
func olderAsOf(section, page time.Time, loc *time.Location) time.Time {
	if section.IsZero() || !section.Before(page) {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return section.In(loc)
}
