package handlers

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

const (
	teamTitle = "Team view"
	teamIntro = "The organisation as a tree, with each part's completion and compliance."
	// teamOpened is how many starting nodes come with their reports
	// already open (the whole tenant may start with several top people).
	teamOpened = 8
)

// teamPage serves /dashboards/team: the tree as of today, or with as_of
// as it stood at the end of a past day. The tree starts at the scope's
// root (or the tenant's top people) with the first level below it open.
func (h *Handlers) teamPage(c *fiber.Ctx) error {
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	day, err := analytics.ParseAsOf(c.Query("as_of"), v.r.Today)
	if err != nil {
		return analyticsError(err)
	}
	name := asOfName(day)
	return h.showView(c, v, name, func(ctx context.Context) (dash.Frame, templ.Component, error) {
		nodes, err := h.teamStart(ctx, v, day)
		if err != nil {
			return dash.Frame{}, nil, err
		}
		meta := v.meta
		tree := teamView(v, nodes, day)
		tree.Root = true
		for i := range tree.Nodes {
			n := &tree.Nodes[i]
			if i >= teamOpened || n.Reports == 0 {
				continue
			}
			reports, err := h.teamChildren(ctx, v, n.ID, day)
			if err != nil {
				return dash.Frame{}, nil, err
			}
			sub := teamView(v, reports, day)
			n.Children = &sub
		}
		v.meta = meta
		f, err := h.frame(ctx, v, teamTitle, teamIntro, "/dashboards/team")
		if err != nil {
			return dash.Frame{}, nil, err
		}
		f.ShowDates = false
		p := dash.TeamPage{Tree: tree, Today: v.r.Today.Format(time.DateOnly),
			Earliest: v.r.Today.AddDate(-analytics.AsOfYears, 0, 0).Format(time.DateOnly)}
		for k, vals := range v.viewFilters(true).Values() {
			for _, val := range vals {
				p.Keep = append(p.Keep, dash.Choice{Key: k, Label: val})
			}
		}
		if !day.IsZero() {
			p.AsOf, p.AsOfLabel = day.Format(time.DateOnly), format.Date(day)
			// A past day's tree does not change with new statements.
			f.Live = false
		}
		return f, dash.TeamBody(p), nil
	})
}

// asOfName is what a team view's name adds for a past day.
func asOfName(day time.Time) string {
	if day.IsZero() {
		return ""
	}
	return "@" + day.Format(time.DateOnly)
}

// teamStart is the tree's starting nodes, today or on day: one view
// shared by the page and GET /api/v1/team/nodes.
func (h *Handlers) teamStart(ctx context.Context, v *viewCtx, day time.Time) ([]analytics.TeamNode, error) {
	return computePage(h, ctx, v, "team"+asOfName(day), v.viewFilters(true), func(q *analytics.Q) ([]analytics.TeamNode, error) {
		if day.IsZero() {
			return q.TeamStart()
		}
		return q.TeamStartAsOf(day)
	})
}

// teamChildren are node's direct reports, today or on day: one view per
// node, shared by the page, the node's fragment and the API.
func (h *Handlers) teamChildren(ctx context.Context, v *viewCtx, node int64, day time.Time) ([]analytics.TeamNode, error) {
	return computePage(h, ctx, v, "team-node:"+strconv.FormatInt(node, 10)+asOfName(day), v.viewFilters(true),
		func(q *analytics.Q) ([]analytics.TeamNode, error) {
			if day.IsZero() {
				return q.TeamChildren(node)
			}
			return q.TeamChildrenAsOf(node, day)
		})
}

func (h *Handlers) teamNodes(c *fiber.Ctx) error {
	node, err := pathID(c, "node")
	if err != nil {
		return err
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	day, err := analytics.ParseAsOf(c.Query("as_of"), v.r.Today)
	if err != nil {
		return analyticsError(err)
	}
	nodes, err := h.teamChildren(c.UserContext(), v, node, day)
	if err != nil {
		return err
	}
	showsVersion(c, v.meta)
	return h.fragment(c, fiber.StatusOK, dash.TeamNodes(teamView(v, nodes, day)))
}

// teamView maps nodes to the tree's view model. Links keep the page's
// filters and the as-of day.
func teamView(v *viewCtx, nodes []analytics.TeamNode, day time.Time) dash.Team {
	keep := v.pageFilters().Values()
	if !day.IsZero() {
		keep.Set("as_of", day.Format(time.DateOnly))
	}
	t := dash.Team{ChildrenURL: "/dashboards/team/nodes/", Query: queryOf(keep)}
	for _, n := range nodes {
		drill := "/learners/" + strconv.FormatInt(n.ID, 10)
		if n.Reports > 0 {
			at := url.Values{}
			for k, vals := range keep {
				at[k] = vals
			}
			at.Set("manager", strconv.FormatInt(n.ID, 10))
			drill = "/dashboards/team" + queryOf(at)
		}
		t.Nodes = append(t.Nodes, dash.TeamNode{ID: n.ID, Name: n.Name, JobTitle: n.JobTitle, Department: n.Department,
			Location: n.Location, Dotted: n.Dotted, Reports: n.Reports, ReportsLabel: reportsLabel(n.Reports),
			People: format.Int(n.People), Completion: format.Percent(n.CompletionRate), Overdue: format.Int(n.Overdue),
			Compliance: format.Percent(n.ComplianceRate), CompletionValue: strconv.FormatFloat(n.CompletionRate, 'f', -1, 64),
			CompletionBand: dash.Band(n.CompletionRate, format.Finite(n.CompletionRate)),
			ComplianceBand: dash.Band(n.ComplianceRate, format.Finite(n.ComplianceRate)), DrillHref: drill})
	}
	return t
}

// queryOf is "?" and the encoded values, or "" for none.
func queryOf(q url.Values) string {
	if e := q.Encode(); e != "" {
		return "?" + e
	}
	return ""
}

func reportsLabel(n int64) string {
	if n == 1 {
		return "1 report"
	}
	return format.Int(n) + " reports"
}
