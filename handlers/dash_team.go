package handlers

import (
	"strconv"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/views/format"
	"github.com/learnlens/learnlens/views/pages/dash"
)

var teamDashboard = dashboard[[]analytics.TeamNode]{name: "team", title: "Team view",
	intro:   "The organisation as a tree, with each part's completion and compliance.",
	undated: true,
	view:    func(q *analytics.Q) ([]analytics.TeamNode, error) { return q.TeamStart() },
	body: func(v *viewCtx, f *dash.Frame, nodes []analytics.TeamNode) templ.Component {
		return dash.TeamBody(teamView(v, nodes))
	},
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
	nodes, err := computePage(h, c.UserContext(), v, "team-node:"+strconv.FormatInt(node, 10), v.viewFilters(true),
		func(q *analytics.Q) ([]analytics.TeamNode, error) { return q.TeamChildren(node) })
	if err != nil {
		return err
	}
	showsVersion(c, v.meta)
	return h.fragment(c, fiber.StatusOK, dash.TeamNodes(teamView(v, nodes)))
}

func teamView(v *viewCtx, nodes []analytics.TeamNode) dash.Team {
	t := dash.Team{ChildrenURL: "/dashboards/team/nodes/", Query: v.pageFilters().Query()}
	for _, n := range nodes {
		t.Nodes = append(t.Nodes, dash.TeamNode{ID: n.ID, Name: n.Name, JobTitle: n.JobTitle, Department: n.Department,
			Location: n.Location, Dotted: n.Dotted, Reports: n.Reports, ReportsLabel: format.Int(n.Reports) + " reports",
			People: format.Int(n.People), Completion: format.Percent(n.CompletionRate), Overdue: format.Int(n.Overdue),
			Compliance: format.Percent(n.ComplianceRate), CompletionValue: strconv.FormatFloat(n.CompletionRate, 'f', -1, 64)})
	}
	return t
}
