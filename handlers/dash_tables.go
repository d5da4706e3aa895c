package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// tableID is the table a /tables/:dash/:table request names, if the
// user's role may ask for it (learners: only learner tables).
func tableID(c *fiber.Ctx) (string, error) {
	id := c.Params("dash") + "/" + c.Params("table")
	if !analytics.HasTable(id) || (auth.User(c).Role == models.RoleLearner && c.Params("dash") != "learner") {
		return "", fiber.ErrNotFound
	}
	return id, nil
}

// sectionViewName names the view of section id (a table or a JSON
// section) with its drill ids; the filters, with a table's page, sort and
// search, are the key's own. A learner's sections also depend on whether
// the viewer is that learner.
func sectionViewName(v *viewCtx, id string, p analytics.Params) string {
	return fmt.Sprintf("%s:%d:%d:%d:%d:self=%t", id, p.Course, p.Team, p.Requirement, p.Learner, p.Learner != 0 && p.Learner == v.scope.Self) +
		asOfName(p.AsOf)
}

// tablePage is a page of table id for the request's filters and drill
// ids; the fragment and the JSON section share it.
func (h *Handlers) tablePage(c *fiber.Ctx, v *viewCtx, id string, p analytics.Params) (analytics.Table, error) {
	return computePage(h, c.UserContext(), v, "table:"+sectionViewName(v, id, p), v.r.Filters,
		func(q *analytics.Q) (analytics.Table, error) { return q.TablePage(id, p) })
}

// tableFragment is one page of a table: the htmx swap of its pager, sort
// and search, or the table alone as a page.
func (h *Handlers) tableFragment(c *fiber.Ctx) error {
	id, err := tableID(c)
	if err != nil {
		return err
	}
	v, p, err := h.newDrillView(c)
	if err != nil {
		return err
	}
	t, err := h.tablePage(c, v, id, p)
	if err != nil {
		return err
	}
	f := v.r.Filters.WithoutTable()
	query := f.Values()
	for k, vs := range drillQuery(p) {
		query[k] = vs
	}
	if v.r.Filters.Q != "" {
		query.Set("q", v.r.Filters.Q)
	}
	view := dash.TableView(tableView(t, v.r.Loc, query, f.Query(), ""))
	showsVersion(c, v.meta)
	if htmx.IsRequest(c) {
		return h.fragment(c, fiber.StatusOK, view)
	}
	return h.page(c, fiber.StatusOK, tableTitle(id), dash.Page(dash.Frame{Title: tableTitle(id), Path: c.Path(), AsOf: asOfText(v.meta)}, view))
}
