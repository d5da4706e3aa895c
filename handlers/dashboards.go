package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/viewcache"
	"github.com/learnlens/learnlens/views/components/charts"
	"github.com/learnlens/learnlens/views/pages/dash"
)

// dashboardRoles may open the dashboards; learners have My learning.
var dashboardRoles = []string{models.RoleTenantAdmin, models.RoleAnalyst, models.RoleManager}

func (h *Handlers) dashboardRoutes(site fiber.Router) {
	d := site.Group("/dashboards", auth.RequireRole(dashboardRoles...))
	d.Get("/completion", completionDashboard.handler(h))
	d.Get("/completion/courses/:id", h.drillTeams(completionDrill))
	d.Get("/completion/courses/:id/teams/:team", h.drillPeople(completionDrill))
	d.Get("/engagement", engagementDashboard.handler(h))
	d.Get("/compliance", complianceDashboard.handler(h))
	d.Get("/compliance/requirements/:id", h.drillTeams(complianceDrill))
	d.Get("/compliance/requirements/:id/teams/:team", h.drillPeople(complianceDrill))
	d.Get("/assessments", assessmentsDashboard.handler(h))
	d.Get("/assessments/courses/:course", h.assessmentCoursePage)
	d.Get("/team", h.teamPage)
	d.Get("/team/nodes/:node", h.teamNodes)

	site.Get("/me", auth.RequireLogin, h.myLearning)
	site.Get("/learners/:learner", auth.RequireLogin, h.learnerPage)
	site.Get("/tables/:dash/:table", auth.RequireLogin, h.tableFragment)
	site.Get("/tables/:dash/:table/export.csv", auth.RequireLogin, h.exportCSV)
	site.Get("/tables/:dash/:table/export.xlsx", auth.RequireLogin, h.exportXLSX)
}

// analyticsRequest reads the request's filters for the signed-in user.
func (h *Handlers) analyticsRequest(c *fiber.Ctx) (analytics.Request, error) {
	tenant, u := auth.Tenant(c), auth.User(c)
	loc := tenantLocation(tenant)
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return analytics.Request{}, fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	today := analytics.DateAt(h.cfg.Clock(), loc)
	f, err := analytics.ParseFilters(q, today)
	if err != nil {
		return analytics.Request{}, analyticsError(err)
	}
	return analytics.Request{Tenant: tenant.ID, Loc: loc, Today: today, Viewer: viewerOf(u), Filters: f}, nil
}

// viewerOf is u as the analytics scope sees them.
func viewerOf(u *models.User) analytics.Viewer {
	v := analytics.Viewer{Role: u.Role, Email: u.Email}
	if u.LearnerID != nil {
		v.Learner = *u.LearnerID
	}
	return v
}

// viewCtx is a request's resolved view of the data: its filters and the
// viewer's scope, and (once a view is computed) what that view shows.
type viewCtx struct {
	r     analytics.Request
	path  string // the request's path, without query
	scope analytics.Scope
	meta  analytics.Meta
}

// newView parses the request and resolves the viewer's scope. Scopes are
// shared results too: every request of a viewer with the same role, email,
// linked learner record and manager filter resolves to the same scope
// until the tenant's directory changes (viewcache.Key.Directory), however
// much gold changes meanwhile.
func (h *Handlers) newView(c *fiber.Ctx) (*viewCtx, error) {
	r, err := h.analyticsRequest(c)
	if err != nil {
		return nil, err
	}
	key := viewcache.Key{Tenant: r.Tenant, Scope: "viewer:" + r.Viewer.Role + ":" + strconv.FormatInt(r.Viewer.Learner, 10) + ":" + r.Viewer.Email,
		View: "scope:" + strconv.FormatInt(r.Filters.Manager, 10), Date: r.Today, Directory: true}
	scope, _, err := h.views.Get(c.UserContext(), key, func(ctx context.Context) (any, int64, int, error) {
		s, directory, err := h.analytics.ResolveScope(ctx, r)
		return s, directory, viewcache.SizeOf(s), err
	})
	if err != nil {
		return nil, analyticsError(err)
	}
	noteLiveScope(c, scope.(analytics.Scope).Key())
	return &viewCtx{r: r, path: c.Path(), scope: scope.(analytics.Scope)}, nil
}

// newDrillView is newView for requests that carry drill-down ids in their
// query (table pages, JSON sections).
func (h *Handlers) newDrillView(c *fiber.Ctx) (*viewCtx, analytics.Params, error) {
	p, err := drillParams(c)
	if err != nil {
		return nil, p, err
	}
	v, err := h.newView(c)
	return v, p, err
}

// computed is a view's value with what it shows.
type computed[T any] struct {
	value T
	meta  analytics.Meta
}

// compute returns view name for v's scope and filters f, and what it
// shows: computed by fn
// in one read-only snapshot, or shared from the result cache when a view
// of the same scope, filters and local date was computed at the tenant's
// current gold version (or, under steady ingest, at most a second before
// it; see viewcache.Cache.Get). name must say everything the view depends
// on besides the scope and filters (path ids, the viewer's own record).
func compute[T any](h *Handlers, ctx context.Context, v *viewCtx, name string, f analytics.Filters, fn func(q *analytics.Q) (T, error)) (T, analytics.Meta, error) {
	return computeWithin(h, ctx, v, name, f, h.views.Lag, fn)
}

// computeWithin is compute with the cache's lag for this view (see
// viewcache.Cache.GetWithin): every caller of one view passes the same.
func computeWithin[T any](h *Handlers, ctx context.Context, v *viewCtx, name string, f analytics.Filters, lag time.Duration, fn func(q *analytics.Q) (T, error)) (T, analytics.Meta, error) {
	r := v.r
	r.Filters = f
	out, err := cached(h, ctx, v.key(v.scope.Key(), name, f), lag, func(ctx context.Context) (computed[T], int64, int, error) {
		var out computed[T]
		err := h.analytics.RunView(ctx, r, v.scope, func(q *analytics.Q) error {
			var err error
			out.value, err = fn(q)
			out.meta = q.Meta()
			return err
		})
		return out, out.meta.Version, viewcache.SizeOf(out.value), err
	})
	if err != nil {
		return out.value, analytics.Meta{}, analyticsError(err)
	}
	return out.value, out.meta, nil
}

// directoryView is compute for a view read from the tenant's directory
// alone (analytics.Store.RunDirectory: the filter choices, a person's
// name), with no filters: it is kept while the directory version it read
// stands (viewcache.Key.Directory), however much gold changes meanwhile.
func directoryView[T any](h *Handlers, ctx context.Context, v *viewCtx, name string, fn func(q *analytics.Q) (T, error)) (T, error) {
	r := v.r
	r.Filters = analytics.Filters{}
	key := v.key(v.scope.Key(), name, r.Filters)
	key.Directory = true
	out, err := cached(h, ctx, key, 0, func(ctx context.Context) (T, int64, int, error) {
		var out T
		var directory int64
		err := h.analytics.RunDirectory(ctx, r, v.scope, func(q *analytics.Q) error {
			var err error
			out, err = fn(q)
			directory = q.Directory
			return err
		})
		return out, directory, viewcache.SizeOf(out), err
	})
	return out, analyticsError(err)
}

// key is the result cache's key of view name for scope and filters f in
// v's tenant on its local date.
func (v *viewCtx) key(scope, name string, f analytics.Filters) viewcache.Key {
	return viewcache.Key{Tenant: v.r.Tenant, Scope: scope, View: name + "?" + f.Values().Encode(), Date: v.r.Today}
}

// cached is the result cache's value under key, computed by fn (the
// value, the gold version it shows and its size in bytes) when no fresh
// one is kept (viewcache.Cache.GetWithin, with lag); the zero T on an
// error.
func cached[T any](h *Handlers, ctx context.Context, key viewcache.Key, lag time.Duration, fn func(ctx context.Context) (T, int64, int, error)) (T, error) {
	val, _, err := h.views.GetWithin(ctx, key, lag, func(ctx context.Context) (any, int64, int, error) {
		return fn(ctx)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return val.(T), nil
}

// computePage is compute for the view a response shows: v keeps its meta
// for the tiles, the "data as of" line and the version headers.
func computePage[T any](h *Handlers, ctx context.Context, v *viewCtx, name string, f analytics.Filters, fn func(q *analytics.Q) (T, error)) (T, error) {
	out, meta, err := compute(h, ctx, v, name, f, fn)
	v.meta = meta
	return out, err
}

// showsVersion tells the client which gold version and local date the
// response's numbers are for.
func showsVersion(c *fiber.Ctx, m analytics.Meta) {
	c.Set(headerVersion, strconv.FormatInt(m.Version, 10))
	c.Set(headerDate, m.Date.Format(time.DateOnly))
}

// The response headers naming the data a dashboard response shows.
const (
	headerVersion = "X-LearnLens-Version"
	headerDate    = "X-LearnLens-Date"
	// headerLagging says that a section of the page ("Activity now") is
	// from an older version than the header's and will catch up within
	// seconds: the hub renders the page again until it has.
	headerLagging = "X-LearnLens-Lagging"
)

func analyticsError(err error) error {
	var ie *analytics.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return fiber.NewError(fiber.StatusBadRequest, ie.Error())
	case errors.Is(err, analytics.ErrNotFound):
		return fiber.ErrNotFound
	}
	return err
}

// pathID reads a positive id from the path; anything else is a 404.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	n, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || n < 0 {
		return 0, fiber.ErrNotFound
	}
	return n, nil
}

// drillParams are the drill-down ids a table fragment, export or JSON
// section carries in its query.
func drillParams(c *fiber.Ctx) (analytics.Params, error) {
	var p analytics.Params
	for name, dst := range map[string]*int64{"course_id": &p.Course, "team_id": &p.Team, "requirement_id": &p.Requirement, "learner_id": &p.Learner} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, fiber.NewError(fiber.StatusBadRequest, name+": must be a whole number (an id)")
		}
		*dst = n
	}
	return p, nil
}

// pageFilters are the filters a page view is computed for: its tables
// start at their first page with their own sort.
func (v *viewCtx) pageFilters() analytics.Filters { return v.r.Filters.WithoutTable() }

// viewFilters are the filters a page's view is computed for: the page's,
// without the range for an undated view.
func (v *viewCtx) viewFilters(undated bool) analytics.Filters {
	if undated {
		return v.pageFilters().Undated()
	}
	return v.pageFilters()
}

// frame starts a dashboard page's frame: heading, "data as of" and the
// filter bar with the choices the viewer's scope offers.
func (h *Handlers) frame(ctx context.Context, v *viewCtx, title, intro, path string) (dash.Frame, error) {
	f := v.r.Filters
	fr := dash.Frame{Title: title, Intro: intro, Path: path, ShowDates: true, ShowOrg: true, ShowCourse: true, AsOf: asOfText(v.meta),
		Live: true, Version: v.meta.Version,
		Filters: dash.FilterState{Range: f.Range, From: f.From.Format(time.DateOnly), To: f.To.Format(time.DateOnly),
			Department: f.Department, Location: f.Location, Manager: f.Manager, Course: f.Course, Category: f.Category}}
	o, err := directoryView(h, ctx, v, "options", func(q *analytics.Q) (analytics.Options, error) { return q.FilterOptions() })
	if err != nil {
		return fr, err
	}
	if f.Manager != 0 {
		// The scope is the manager's people (newView checked the viewer may
		// see them), so the name is read in it.
		if fr.Filters.ManagerName, err = directoryView(h, ctx, v, "person-name", func(q *analytics.Q) (string, error) {
			return q.PersonName(f.Manager)
		}); err != nil {
			return fr, err
		}
	}
	fr.Options = dash.FilterOptions{Departments: o.Departments, Locations: o.Locations, Categories: o.Categories,
		Courses: options(o.Courses), DefaultRange: analytics.DefaultRange}
	for _, r := range analytics.Ranges {
		fr.Options.Ranges = append(fr.Options.Ranges, dash.Choice{Key: r.Key, Label: r.Label})
	}
	return fr, nil
}

func options(in []analytics.Option) []dash.Option {
	out := make([]dash.Option, len(in))
	for i, o := range in {
		out[i] = dash.Option{ID: o.ID, Label: o.Label}
	}
	return out
}

// asOfText is a view's "data as of" line, or "" with no data yet.
func asOfText(m analytics.Meta) string {
	if m.AsOf.IsZero() {
		return ""
	}
	return m.AsOf.Format("2 Jan 2006, 15:04 MST")
}

// dashboard is a top-level dashboard page: the view it computes and
// how it shows it. body may adjust the frame (which filters apply, a note).
type dashboard[T any] struct {
	name         string // the path segment and the view's name
	title, intro string
	// undated views show everything as of today: the range is not offered,
	// and viewers of every range share one computation.
	undated bool
	// activity puts "Activity now" above the body: a view of the last
	// minutes of wall-clock time, so the page is kept per minute too.
	activity bool
	view     func(q *analytics.Q) (T, error)
	body     func(v *viewCtx, f *dash.Frame, d T) templ.Component
}

// handler serves the dashboard at /dashboards/<name>.
func (d dashboard[T]) handler(h *Handlers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := h.newView(c)
		if err != nil {
			return err
		}
		return h.showView(c, v, "", func(ctx context.Context) (dash.Frame, templ.Component, error) {
			data, err := computePage(h, ctx, v, d.name, v.viewFilters(d.undated), d.view)
			if err != nil {
				return dash.Frame{}, nil, err
			}
			f, err := h.frame(ctx, v, d.title, d.intro, "/dashboards/"+d.name)
			if err != nil {
				return dash.Frame{}, nil, err
			}
			f.ShowDates = !d.undated
			body := d.body(v, &f, data)
			if d.activity {
				body = templ.Join(templ.Raw(activitySlot), body)
			}
			return f, body, nil
		})
	}
}

// pageBuilder makes a dashboard page's frame and body from its views
// (compute, frame). It must use nothing of the request but its viewCtx:
// it may run on another goroutine, for several requests at once.
type pageBuilder func(ctx context.Context) (dash.Frame, templ.Component, error)

// renderedPage is a dashboard page rendered once for every viewer of it:
// the frame and body as HTML, without the per-user shell around it.
type renderedPage struct {
	title string
	html  []byte
	meta  analytics.Meta
	// slot is where "Activity now" goes in html (-1: nowhere): it is kept
	// at its own lag and put in at every response (activityHTML).
	slot int
}

// showView renders a dashboard page, or its body for an htmx filter
// change. The page's HTML is a shared result too, keyed like its views
// by scope, path, filters and date, and by name, which must say whatever
// else build depends on (the viewer's own record, for a learner page): rendering a page of several charts
// and a long filter bar costs far more than reading its views from the
// cache, so viewers of the same page share the rendering as well.
//
// A page is kept for the gold version of its view, and its key holds the
// tenant's directory version, which its filter bar's choices are read at
// (directoryView): a new course or department shows in the page built
// after this instance learns of it, whichever of the gold and directory
// versions it learns first.
func (h *Handlers) showView(c *fiber.Ctx, v *viewCtx, name string, build pageBuilder) error {
	dir, err := h.directory.Current(c.UserContext(), v.r.Tenant)
	if err != nil {
		return err
	}
	key := v.key(v.scope.Key(), "page:"+v.path+":"+name+"@"+strconv.FormatInt(dir.N, 10), v.r.Filters)
	val, _, err := h.views.Get(c.UserContext(), key, func(ctx context.Context) (any, int64, int, error) {
		f, body, err := build(ctx)
		if err != nil {
			return nil, 0, 0, err
		}
		var buf bytes.Buffer
		if err := dash.Page(f, body).Render(ctx, &buf); err != nil {
			return nil, 0, 0, fmt.Errorf("render %s: %w", v.path, err)
		}
		p := renderedPage{title: f.Title, html: buf.Bytes(), meta: v.meta, slot: bytes.Index(buf.Bytes(), []byte(activitySlot))}
		if p.slot >= 0 {
			p.html = slices.Delete(p.html, p.slot, p.slot+len(activitySlot))
		}
		return p, v.meta.Version, len(p.html), nil
	})
	if err != nil {
		return analyticsError(err)
	}
	p := val.(renderedPage)
	v.meta = p.meta
	showsVersion(c, p.meta)
	var activity []byte
	if p.slot >= 0 {
		if activity, err = h.activityHTML(c, v); err != nil {
			return err
		}
	}
	return h.page(c, fiber.StatusOK, p.title, templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		if p.slot < 0 {
			_, err := w.Write(p.html)
			return err
		}
		for _, part := range [][]byte{p.html[:p.slot], activity, p.html[p.slot:]} {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		return nil
	}))
}

// kpi is a tile of the view's data. The page says "data as of" once, so
// tiles do not repeat it.
func kpi(v *viewCtx, id, label string, value float64, unit string) charts.KPI {
	return charts.KPI{ID: id, Label: label, Value: value, Unit: unit}
}

// upIsBad colours a rise red (overdue, failed).
func upIsBad(k charts.KPI) charts.KPI {
	k.UpIsBad = true
	return k
}

// withPrevious adds the previous period's value to a tile.
func withPrevious(k charts.KPI, prev float64, v *viewCtx) charts.KPI {
	k.Previous, k.HasPrevious = prev, true
	k.CompareLabel = fmt.Sprintf("vs previous %d days", v.r.Filters.Days())
	return k
}

func medianValue(m int64) float64 {
	if m < 0 {
		return math.NaN()
	}
	return float64(m)
}

// trendChart draws a trend with its previous period dashed.
func trendChart(id, title, desc, unit string, t analytics.Trend) charts.LineChart {
	lc := charts.LineChart{ID: id, Title: title, Description: desc, Unit: unit, XName: "Day"}
	if t.Unit == "week" {
		lc.XName = "Week starting"
	}
	cur := charts.Series{Name: "This period"}
	prev := charts.Series{Name: "Previous period", Dashed: true}
	for _, p := range t.Points {
		lc.Labels = append(lc.Labels, p.Label)
		cur.Values = append(cur.Values, p.Value)
		prev.Values = append(prev.Values, p.Previous)
	}
	lc.Series = []charts.Series{cur, prev}
	return lc
}
