package browser

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// acmeData is what the dashboard tests need to know about the learning
// data loaded into acme.
type acmeData struct {
	tenant       int64
	manager      int64 // learner id of manager@acme.test
	learner      int64 // learner id of learner@acme.test
	otherManager int64 // a manager outside manager@acme.test's part
	sum          generator.Summary
}

// loadAcme fills acme with a small data set through the real ingest
// pipeline: a few hundred people and about 15,000 statements.
func loadAcme(t *testing.T, srv *testserver.Server) acmeData {
	t.Helper()
	ctx := context.Background()
	tenant, err := models.NewTenantStore(srv.DB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 7, 300, 4, 12, 3, 15_000
	start := time.Now()
	sum, err := generator.Populate(ctx, pipeline.New(srv.DB), tenant.ID, cfg)
	if err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	t.Logf("populated acme: %d people, %d courses, %d statements in %v",
		sum.Learners, sum.Courses, sum.Statements, time.Since(start).Round(time.Millisecond))
	d := acmeData{tenant: tenant.ID, sum: sum}
	err = srv.DB.Platform(ctx, func(tx *gorm.DB) error {
		id := func(query string, args ...any) (int64, error) {
			var n int64
			err := tx.Raw(query, args...).Scan(&n).Error
			return n, err
		}
		if d.manager, err = id(`SELECT id FROM learners WHERE tenant_id = ? AND email = 'manager@acme.test'`, tenant.ID); err != nil {
			return err
		}
		if d.learner, err = id(`SELECT id FROM learners WHERE tenant_id = ? AND email = 'learner@acme.test'`, tenant.ID); err != nil {
			return err
		}
		d.otherManager, err = id(`SELECT l.id FROM learners l WHERE l.tenant_id = ? AND l.id <> ?
			AND EXISTS (SELECT 1 FROM learners r WHERE r.tenant_id = l.tenant_id AND r.manager_id = l.id)
			AND NOT EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = l.tenant_id AND c.manager_id = ? AND c.learner_id = l.id)
			ORDER BY l.id LIMIT 1`, tenant.ID, d.manager, d.manager)
		return err
	})
	if err != nil || d.manager == 0 || d.learner == 0 || d.otherManager == 0 || sum.ManagerSubtree == 0 {
		t.Fatalf("acme data: %+v, err %v", d, err)
	}
	return d
}

// dashboard is one of the five dashboards and what must show data on it.
type dashboard struct {
	name   string
	title  string
	kpis   []string // KPI ids whose value must be above zero
	charts []string // chart ids that must show data
	tables []string // table ids that must have rows
}

var dashboards = []dashboard{
	{"completion", "Course completion", []string{"enrolled", "completed", "completion-rate"},
		[]string{"completion-trend", "completion-courses"}, []string{"completion/courses"}},
	{"engagement", "Engagement and activity", []string{"active", "mau", "statements", "minutes"},
		[]string{"statements-trend", "heatmap"}, []string{"engagement/courses"}},
	{"compliance", "Compliance and certification", []string{"assigned", "compliant", "compliance-rate"},
		[]string{"compliance-status"}, []string{"compliance/requirements"}},
	{"assessments", "Assessment performance", []string{"attempts", "passed", "pass-rate"},
		[]string{"scores"}, []string{"assessments/courses"}},
	{"team", "Team view", nil, nil, nil},
}

// TestDashboards loads learning data into acme once, then drives the
// dashboards as an admin, a manager and a learner, each in a browser of
// their own.
func TestDashboards(t *testing.T) {
	start := time.Now()
	srv := testserver.Start(t)
	data := loadAcme(t, srv)
	t.Cleanup(func() { t.Logf("dashboards tests took %v", time.Since(start).Round(time.Millisecond)) })
	// Three browsers, one per user, side by side.
	t.Run("users", func(t *testing.T) {
		t.Run("admin", func(t *testing.T) { t.Parallel(); testAdminDashboards(t, srv, data) })
		t.Run("manager", func(t *testing.T) { t.Parallel(); testManagerDashboards(t, srv, data) })
		t.Run("learner", func(t *testing.T) { t.Parallel(); testLearnerPages(t, srv, data) })
	})
}

func testAdminDashboards(t *testing.T, srv *testserver.Server, data acmeData) {
	b := newBrowser(t, 1280, 900)
	signIn(t, b, srv, "admin@acme.test")

	t.Run("dashboards show data", func(t *testing.T) {
		for _, d := range dashboards {
			ctx := b.step(t)
			open(ctx, t, b, srv, "/dashboards/"+d.name)
			checkDashboard(ctx, t, d)
			if d.name == "team" {
				if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="tree-node"]').length`); n == 0 {
					t.Errorf("team: no tree nodes")
				}
				if n := numberAt(ctx, t, `[data-testid="tree-node"] [data-testid="node-people"]`); n <= 0 {
					t.Errorf("team: first node has %v people", n)
				}
			}
			screenshot(t, b, "dash-"+d.name+"-1280.png")
			noConsoleErrors(t, b, d.name)
		}
	})

	t.Run("filter changes swap the body and push the URL", func(t *testing.T) {
		for _, d := range dashboards {
			ctx := b.step(t)
			open(ctx, t, b, srv, "/dashboards/"+d.name)
			dept := evalJS[string](ctx, t, `document.querySelector('[data-testid="filter-department"]').options[1].value`)
			before := -1.0
			if len(d.kpis) > 0 {
				before = kpi(ctx, t, d.kpis[0])
			}
			markBody(ctx, t)
			setSelect(ctx, t, "filter-department", dept)
			waitJS(ctx, t, d.name+": body swapped after a department change",
				`!document.querySelector('#dash-body[data-old]') && !!document.querySelector('#dash-body') && !document.querySelector('.htmx-request')`)
			if got := evalJS[string](ctx, t, `new URLSearchParams(location.search).get('department') || ''`); got != dept {
				t.Errorf("%s: URL %s after choosing department %q", d.name, location(ctx, t), dept)
			}
			if !strings.HasPrefix(location(ctx, t), srv.URL("acme.localhost", "/dashboards/"+d.name+"?")) {
				t.Errorf("%s: URL %s after the filter change", d.name, location(ctx, t))
			}
			after := -1.0
			if len(d.kpis) > 0 {
				after = kpi(ctx, t, d.kpis[0])
				if !(after < before) {
					t.Errorf("%s: KPI %s is %v with department %q, %v for all departments", d.name, d.kpis[0], after, dept, before)
				}
			}
			if d.name == "team" {
				// The tree narrows to the department: the first node counts fewer people.
				if n := numberAt(ctx, t, `[data-testid="tree-node"] [data-testid="node-people"]`); n <= 0 {
					t.Errorf("team: no node with people after the department filter (%v)", n)
				}
			}
			// Reloading the pushed URL shows the same filter and numbers.
			u := location(ctx, t)
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`))); err != nil {
				t.Fatalf("%s: reload %s: %v", d.name, u, err)
			}
			if got := evalJS[string](ctx, t, `document.querySelector('[data-testid="filter-department"]').value`); got != dept || location(ctx, t) != u {
				t.Errorf("%s: after reloading %s the department is %q at %s, want %q", d.name, u, got, location(ctx, t), dept)
			}
			if len(d.kpis) > 0 {
				if again := kpi(ctx, t, d.kpis[0]); again != after {
					t.Errorf("%s: KPI %s is %v after reload, %v after the swap", d.name, d.kpis[0], again, after)
				}
			}
			noConsoleErrors(t, b, d.name+" with a department filter")
		}
	})

	var teamPage string // a completion team page, for the phone checks
	t.Run("completion drill-down and back", func(t *testing.T) {
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/completion")
		courseName := evalJS[string](ctx, t, `document.querySelector('[data-testid="table-completion/courses"] [data-testid="drill"]').textContent.trim()`)
		click(ctx, t, `[data-testid="table-completion/courses"] [data-testid="drill"]`)
		waitJS(ctx, t, "course level", `/^\/dashboards\/completion\/courses\/\d+$/.test(location.pathname)
			&& !!document.querySelector('[data-testid="table-completion/teams"] [data-testid="row"]')`)
		coursePath := evalJS[string](ctx, t, `location.pathname`)
		if got := text(ctx, t, `[data-testid="dashboard-title"]`); got != courseName {
			t.Errorf("course level: title %q, want the course %q", got, courseName)
		}
		if got := crumbs(ctx, t); got != "Course completion" {
			t.Errorf("course level: breadcrumbs %q", got)
		}
		if !evalJS[bool](ctx, t, `!!document.getElementById('flash')`) {
			t.Errorf("course level: #flash, where htmx shows errors, is gone after the drill-down swap into #main")
		}
		noConsoleErrors(t, b, "completion course level")

		team := evalJS[string](ctx, t, `document.querySelector('[data-testid="table-completion/teams"] [data-testid="drill"]').textContent.trim()`)
		click(ctx, t, `[data-testid="table-completion/teams"] [data-testid="drill"]`)
		waitJS(ctx, t, "team level", `/^\/dashboards\/completion\/courses\/\d+\/teams\/\d+$/.test(location.pathname)
			&& !!document.querySelector('[data-testid="table-completion/learners"] [data-testid="row"]')`)
		teamPage = evalJS[string](ctx, t, `location.pathname + location.search`)
		if !strings.HasPrefix(teamPage, coursePath+"/teams/") {
			t.Errorf("team level: URL %s, want one under %s", teamPage, coursePath)
		}
		if got, want := text(ctx, t, `[data-testid="dashboard-title"]`), courseName+" · team of "+team; got != want {
			t.Errorf("team level: title %q, want %q", got, want)
		}
		if got, want := crumbs(ctx, t), "Course completion › "+courseName; got != want {
			t.Errorf("team level: breadcrumbs %q, want %q", got, want)
		}
		if href := evalJS[string](ctx, t, `document.querySelectorAll('[data-testid="breadcrumbs"] a')[1].getAttribute('href')`); !strings.HasPrefix(href, coursePath) {
			t.Errorf("team level: the course breadcrumb links to %s, want %s", href, coursePath)
		}
		noConsoleErrors(t, b, "completion team level")

		// Back goes to the course level, then to the dashboard.
		evalJS[bool](ctx, t, `history.back(), true`)
		waitJS(ctx, t, "back to the course level", fmt.Sprintf(`location.pathname === %q
			&& !!document.querySelector('[data-testid="table-completion/teams"] [data-testid="row"]')
			&& !document.querySelector('[data-testid="table-completion/learners"]')`, coursePath))
		if got := crumbs(ctx, t); got != "Course completion" {
			t.Errorf("back at the course level: breadcrumbs %q", got)
		}
		evalJS[bool](ctx, t, `history.back(), true`)
		waitJS(ctx, t, "back to the dashboard", `location.pathname === '/dashboards/completion'
			&& !!document.querySelector('[data-testid="table-completion/courses"] [data-testid="row"]')
			&& !document.querySelector('[data-testid="breadcrumbs"]')`)
		noConsoleErrors(t, b, "completion back")

		// The team level opened directly, then a learner from its list.
		open(ctx, t, b, srv, teamPage)
		if got, want := crumbs(ctx, t), "Course completion › "+courseName; got != want {
			t.Errorf("team level loaded directly: breadcrumbs %q, want %q", got, want)
		}
		learner := evalJS[string](ctx, t, `document.querySelector('[data-testid="table-completion/learners"] [data-testid="drill"]').textContent.trim()`)
		click(ctx, t, `[data-testid="table-completion/learners"] [data-testid="drill"]`)
		waitJS(ctx, t, "learner page", `/^\/learners\/\d+$/.test(location.pathname) && !!document.querySelector('[data-testid="learner-profile"]')`)
		if got := text(ctx, t, `[data-testid="dashboard-title"]`); got != learner {
			t.Errorf("learner page: title %q, want %q", got, learner)
		}
		if n := rows(ctx, t, "learner/enrollments"); n == 0 {
			t.Errorf("learner page: no courses")
		}
		noConsoleErrors(t, b, "learner page")
	})

	t.Run("filters on a drilled level and an invalid period", func(t *testing.T) {
		// A period whose end is before its start is refused with a 400,
		// which the error handler retargets to #flash.
		for _, drilled := range []bool{false, true} {
			ctx := b.step(t)
			open(ctx, t, b, srv, "/dashboards/completion")
			where := "the dashboard"
			if drilled {
				// A drill-down level reached with htmx, as a user would.
				where = "a course level reached by drilling down"
				click(ctx, t, `[data-testid="table-completion/courses"] [data-testid="drill"]`)
				waitJS(ctx, t, "course level", `!!document.querySelector('[data-testid="table-completion/teams"] [data-testid="row"]')`)
				coursePath := evalJS[string](ctx, t, `location.pathname`)
				// The filter bar of a level reached with htmx works and keeps the level.
				teamsBefore := rows(ctx, t, "completion/teams")
				dept := evalJS[string](ctx, t, `document.querySelector('[data-testid="filter-department"]').options[1].value`)
				markBody(ctx, t)
				setSelect(ctx, t, "filter-department", dept)
				waitJS(ctx, t, "course level filtered", `!document.querySelector('#dash-body[data-old]') && !!document.querySelector('#dash-body')`)
				if p, got := evalJS[string](ctx, t, `location.pathname`), evalJS[string](ctx, t, `new URLSearchParams(location.search).get('department') || ''`); p != coursePath || got != dept {
					t.Errorf("course level after a department filter: %s, want %s?…department=%s", location(ctx, t), coursePath, dept)
				}
				if n := rows(ctx, t, "completion/teams"); n == 0 || n > teamsBefore {
					t.Errorf("course level: %d teams with department %q, %d without", n, dept, teamsBefore)
				}
				setSelect(ctx, t, "filter-department", "")
				waitJS(ctx, t, "course level unfiltered", `!new URLSearchParams(location.search).get('department')`)
				waitJS(ctx, t, "course level unfiltered", fmt.Sprintf(`document.querySelectorAll('[data-testid="table-completion/teams"] [data-testid="row"]').length === %d`, teamsBefore))
			}
			evalJS[bool](ctx, t, `(() => {
				const to = document.querySelector('[data-testid="filter-to"]');
				to.value = '2000-01-01';
				to.dispatchEvent(new Event('change', {bubbles: true}));
				return true })()`)
			err := poll(ctx, `!!document.querySelector('#flash [data-testid="error-fragment"]')`, 5*time.Second)
			if err != nil {
				t.Errorf("on %s (%s) the 400 error message is not shown in #flash: %v; #flash present: %v",
					where, location(ctx, t), err, evalJS[bool](ctx, t, `!!document.getElementById('flash')`))
			}
			for _, e := range takeConsoleErrors(b) {
				if !strings.Contains(e, "status of 400") {
					t.Errorf("on %s: console error: %s", where, e)
				}
			}
		}
	})

	t.Run("compliance drill-down", func(t *testing.T) {
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/compliance")
		req := evalJS[string](ctx, t, `document.querySelector('[data-testid="table-compliance/requirements"] [data-testid="drill"]').textContent.trim()`)
		click(ctx, t, `[data-testid="table-compliance/requirements"] [data-testid="drill"]`)
		waitJS(ctx, t, "requirement level", `/^\/dashboards\/compliance\/requirements\/\d+$/.test(location.pathname)
			&& !!document.querySelector('[data-testid="table-compliance/teams"] [data-testid="row"]')`)
		reqPath := evalJS[string](ctx, t, `location.pathname`)
		if got := text(ctx, t, `[data-testid="dashboard-title"]`); got != req {
			t.Errorf("requirement level: title %q, want %q", got, req)
		}
		if got := crumbs(ctx, t); got != "Compliance" {
			t.Errorf("requirement level: breadcrumbs %q", got)
		}
		click(ctx, t, `[data-testid="table-compliance/teams"] [data-testid="drill"]`)
		waitJS(ctx, t, "team level", `/^\/dashboards\/compliance\/requirements\/\d+\/teams\/\d+$/.test(location.pathname)
			&& !!document.querySelector('[data-testid="table-compliance/people"] [data-testid="row"]')`)
		if p := evalJS[string](ctx, t, `location.pathname`); !strings.HasPrefix(p, reqPath+"/teams/") {
			t.Errorf("team level: URL %s, want one under %s", p, reqPath)
		}
		if got, want := crumbs(ctx, t), "Compliance › "+req; got != want {
			t.Errorf("team level: breadcrumbs %q, want %q", got, want)
		}
		// The first breadcrumb goes back up with htmx, without a page load.
		evalJS[bool](ctx, t, `window.stillHere = true`)
		click(ctx, t, `[data-testid="breadcrumbs"] a`)
		waitJS(ctx, t, "compliance via the breadcrumb", `location.pathname === '/dashboards/compliance'
			&& !!document.querySelector('[data-testid="table-compliance/requirements"] [data-testid="row"]')`)
		if !evalJS[bool](ctx, t, `window.stillHere === true`) {
			t.Errorf("the breadcrumb loaded a whole page instead of swapping #main with htmx")
		}
		noConsoleErrors(t, b, "compliance drill-down")
	})

	t.Run("team view expands a node", func(t *testing.T) {
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/team")
		node := evalJS[string](ctx, t, `document.querySelector('[data-testid="node-expand"]').closest('[data-testid="tree-node"]').dataset.node`)
		reports := numberAt(ctx, t, `[data-testid="node-expand"]`)
		click(ctx, t, `[data-testid="node-expand"]`)
		waitJS(ctx, t, "reports of node "+node, fmt.Sprintf(`document.querySelectorAll('#children-%s > ul > [data-testid="tree-node"]').length === %d`, node, int(reports)))
		// The button loads once: a second click adds nothing.
		click(ctx, t, `[data-testid="node-expand"]`)
		time.Sleep(300 * time.Millisecond)
		if n := evalJS[int](ctx, t, fmt.Sprintf(`document.querySelectorAll('#children-%s [data-testid="tree-node"]').length`, node)); n != int(reports) {
			t.Errorf("after a second click node %s lists %d reports, want %d", node, n, int(reports))
		}
		noConsoleErrors(t, b, "team view")
	})

	t.Run("tables sort, search, page and export", func(t *testing.T) {
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/completion")
		const tbl = `[data-testid="table-completion/courses"]`
		click(ctx, t, tbl+` [data-testid="sort-course"]`)
		waitJS(ctx, t, "sorted by course", `document.querySelector('[data-testid="table-completion/courses"] th[aria-sort="ascending"] [data-testid="sort-course"]') !== null`)
		names := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="table-completion/courses"] [data-testid="row"] td[data-col="course"]')].map(td => td.textContent.trim())`)
		for i := 1; i < len(names); i++ {
			if strings.ToLower(names[i-1]) > strings.ToLower(names[i]) {
				t.Errorf("courses sorted by name: %q before %q", names[i-1], names[i])
			}
		}
		word := strings.Fields(names[len(names)-1])[0]
		search := tbl + ` [data-testid="table-search"]`
		searched := fmt.Sprintf(`(() => {
			const cells = [...document.querySelectorAll('[data-testid="table-completion/courses"] [data-testid="row"] td[data-col="course"]')];
			return cells.length > 0 && cells.length < %d && cells.every(td => td.textContent.toLowerCase().includes(%q))
		})()`, len(names), strings.ToLower(word))
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(search), word)); err != nil {
			t.Fatal(err)
		}
		// Typing searches after a pause, without pressing Enter.
		if err := poll(ctx, searched, 3*time.Second); err != nil {
			t.Errorf("typing %q in the search box of completion/courses does not filter the table (%d rows): %v",
				word, rows(ctx, t, "completion/courses"), err)
			// Enter submits the search form.
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(search), "\r")); err != nil {
				t.Fatal(err)
			}
			waitJS(ctx, t, "search for "+word+" on Enter", searched)
		}

		// Exports are fetched in the page with the session cookie.
		type fetched struct {
			Status int    `json:"status"`
			Type   string `json:"type"`
			Lines  int    `json:"lines"`
			Bytes  int    `json:"bytes"`
			Name   string `json:"name"`
		}
		fetchLink := func(sel string) fetched {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[fetched](fmt.Sprintf(`(async () => {
				const a = document.querySelector(%q);
				const r = await fetch(a.href);
				const body = await r.arrayBuffer();
				const text = new TextDecoder().decode(body);
				return {status: r.status, type: r.headers.get('content-type') || '', bytes: body.byteLength,
					lines: text.trim().split('\n').length, name: r.headers.get('content-disposition') || ''};
			})()`, sel), chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("fetch %s: %v", sel, err)
			}
			return v
		}
		csv := fetchLink(tbl + ` [data-testid="export-csv"]`)
		if csv.Status != 200 || !strings.HasPrefix(csv.Type, "text/csv") || csv.Lines < 2 || !strings.Contains(csv.Name, ".csv") {
			t.Errorf("CSV export: %+v", csv)
		}
		xlsx := fetchLink(tbl + ` [data-testid="export-xlsx"]`)
		if xlsx.Status != 200 || !strings.Contains(xlsx.Type, "spreadsheetml") || xlsx.Bytes < 1000 {
			t.Errorf("XLSX export: %+v", xlsx)
		}

		// A table with more than one page: the people at risk.
		open(ctx, t, b, srv, "/dashboards/compliance")
		const risk = `[data-testid="table-compliance/at-risk"]`
		if evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="table-compliance/at-risk"] [data-testid="page-next"]')`) {
			click(ctx, t, risk+` [data-testid="page-next"]`)
			waitJS(ctx, t, "page 2", `/^26–/.test(document.querySelector('[data-testid="table-compliance/at-risk"] [data-testid="table-range"]').textContent)`)
			click(ctx, t, risk+` [data-testid="page-prev"]`)
			waitJS(ctx, t, "page 1", `/^1–/.test(document.querySelector('[data-testid="table-compliance/at-risk"] [data-testid="table-range"]').textContent)`)
		} else {
			t.Logf("compliance/at-risk has one page (%s)", text(ctx, t, risk+` [data-testid="table-range"]`))
		}
		noConsoleErrors(t, b, "tables")
	})

	t.Run("phone width", func(t *testing.T) {
		if err := chromedp.Do(b.step(t), chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		for _, d := range dashboards {
			ctx := b.step(t)
			open(ctx, t, b, srv, "/dashboards/"+d.name)
			checkDashboard(ctx, t, d)
			noOverflow(ctx, t, d.name)
			screenshot(t, b, "dash-"+d.name+"-390.png")
			noConsoleErrors(t, b, d.name+" at 390 px")
		}
		for _, p := range []string{teamPage, "/learners/" + strconv.FormatInt(data.learner, 10)} {
			if p == "" {
				continue
			}
			ctx := b.step(t)
			open(ctx, t, b, srv, p)
			noOverflow(ctx, t, p)
			noConsoleErrors(t, b, p+" at 390 px")
		}
	})
}

func testManagerDashboards(t *testing.T, srv *testserver.Server, data acmeData) {
	b := newBrowser(t, 1280, 900)
	signIn(t, b, srv, "manager@acme.test")
	ctx := b.step(t)

	open(ctx, t, b, srv, "/dashboards/team")
	nodes := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[role="tree"] > [data-testid="tree-node"]')].map(n => n.dataset.node)`)
	if len(nodes) != 1 || nodes[0] != strconv.FormatInt(data.manager, 10) {
		t.Errorf("manager's team view starts at nodes %v, want only their own (%d)", nodes, data.manager)
	}
	if name := text(ctx, t, `[data-testid="tree-node"] a`); name != "Max Manager" {
		t.Errorf("manager's node is %q", name)
	}
	if n := numberAt(ctx, t, `[data-testid="tree-node"] [data-testid="node-people"]`); int(n) < data.sum.ManagerSubtree {
		t.Errorf("manager's node counts %v people, their part has %d", n, data.sum.ManagerSubtree)
	}
	reports := numberAt(ctx, t, `[data-testid="node-expand"]`)
	click(ctx, t, `[data-testid="node-expand"]`)
	waitJS(ctx, t, "manager's reports", fmt.Sprintf(`document.querySelectorAll('#children-%d > ul > [data-testid="tree-node"]').length === %d`, data.manager, int(reports)))
	screenshot(t, b, "dash-team-manager-1280.png")
	noConsoleErrors(t, b, "manager team view")

	// The manager's dashboards cover only their people.
	ctx = b.step(t)
	open(ctx, t, b, srv, "/dashboards/completion")
	checkDashboard(ctx, t, dashboards[0])
	// The manager picker's scope: TestFilterBar.
	noConsoleErrors(t, b, "manager completion")

	// Another manager's people are not theirs to see: 404, whichever way.
	other := strconv.FormatInt(data.otherManager, 10)
	for _, p := range []string{"/dashboards/team?manager=" + other, "/dashboards/completion?manager=" + other,
		"/dashboards/team/nodes/" + other, "/learners/" + other} {
		ctx := b.step(t)
		open(ctx, t, b, srv, p)
		status := text(ctx, t, `[data-testid="error-page"] p`)
		title := text(ctx, t, `[data-testid="error-page"] h1`)
		if status != "404" || title != "Page not found" {
			t.Errorf("manager at %s: error page %q %q, want 404 Page not found", p, status, title)
		}
		expectOnly(t, b, p, "status of 404")
	}
}

func testLearnerPages(t *testing.T, srv *testserver.Server, data acmeData) {
	b := newBrowser(t, 1280, 900)
	signIn(t, b, srv, "learner@acme.test")
	ctx := b.step(t)

	for _, width := range []int64{1280, 390} {
		ctx = b.step(t)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		open(ctx, t, b, srv, "/me")
		if got := text(ctx, t, `[data-testid="dashboard-title"]`); got != "My learning" {
			t.Errorf("/me: title %q", got)
		}
		if got := evalJS[string](ctx, t, `document.querySelector('[data-testid="learner-profile"]').textContent`); !strings.Contains(got, "learner@acme.test") {
			t.Errorf("/me does not show the learner's own record: %.200q", got)
		}
		for _, k := range []string{"enrolled", "completed"} {
			if v := kpi(ctx, t, k); v <= 0 {
				t.Errorf("/me: KPI %s is %v", k, v)
			}
		}
		if n := rows(ctx, t, "learner/enrollments"); n < 2 {
			t.Errorf("/me lists %d courses", n)
		}
		if n := rows(ctx, t, "learner/attempts"); n < 1 {
			t.Errorf("/me lists %d assessment attempts", n)
		}
		if width == 390 {
			noOverflow(ctx, t, "/me")
		}
		screenshot(t, b, fmt.Sprintf("dash-me-%d.png", width))
		noConsoleErrors(t, b, "/me")
	}
	if evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="nav-completion"]')`) {
		t.Errorf("the learner's navigation links to the dashboards")
	}

	ctx = b.step(t)
	open(ctx, t, b, srv, "/dashboards/completion")
	status := text(ctx, t, `[data-testid="error-page"] p`)
	title := text(ctx, t, `[data-testid="error-page"] h1`)
	if status != "403" || title != "Not allowed" {
		t.Errorf("learner at /dashboards/completion: error page %q %q, want 403 Not allowed", status, title)
	}
	expectOnly(t, b, "/dashboards/completion", "status of 403")
	// Someone else's learner page is out of scope.
	open(ctx, t, b, srv, "/learners/"+strconv.FormatInt(data.manager, 10))
	if status := text(ctx, t, `[data-testid="error-page"] p`); status != "404" {
		t.Errorf("learner at another person's page: status %q, want 404", status)
	}
	expectOnly(t, b, "another learner page", "status of 404")
}

// ----- helpers -----

func signIn(t *testing.T, b *browser, srv *testserver.Server, email string) {
	t.Helper()
	if err := login(b.step(t), srv, email); err != nil {
		t.Fatalf("sign in as %s: %v (console: %v)", email, err, b.consoleErrors())
	}
}

// open loads path and waits for a dashboard or an error page.
func open(ctx context.Context, t *testing.T, b *browser, srv *testserver.Server, path string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("acme.localhost", path)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"], [data-testid="error-page"]`)),
	)
	if err != nil {
		t.Fatalf("open %s: %v (console: %v)", path, err, b.consoleErrors())
	}
}

// checkDashboard checks the dashboard's title, KPIs, charts and tables.
func checkDashboard(ctx context.Context, t *testing.T, d dashboard) {
	t.Helper()
	if got := text(ctx, t, `[data-testid="dashboard-title"]`); got != d.title {
		t.Errorf("%s: title %q, want %q", d.name, got, d.title)
	}
	if evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="error-page"]')`) {
		t.Errorf("%s: error page", d.name)
	}
	for _, k := range d.kpis {
		if v := kpi(ctx, t, k); v <= 0 {
			t.Errorf("%s: KPI %s is %v", d.name, k, v)
		}
	}
	for _, c := range d.charts {
		if !evalJS[bool](ctx, t, fmt.Sprintf(chartHasData, c)) {
			t.Errorf("%s: chart %s is missing or shows no data", d.name, c)
		}
	}
	for _, tb := range d.tables {
		if n := rows(ctx, t, tb); n == 0 {
			t.Errorf("%s: table %s has no rows", d.name, tb)
		}
	}
}

// chartHasData is true when chart %q is drawn and its table view holds
// a value above zero.
const chartHasData = `(() => {
	const id = %q;
	const c = document.querySelector('[data-testid="chart-' + id + '"]');
	if (!c || c.querySelector('[data-testid="chart-' + id + '-empty"]') || !c.querySelector('svg[role="img"]')) return false;
	return [...c.querySelectorAll('[data-testid="chart-' + id + '-table"] td')]
		.some(td => parseFloat(td.textContent.replace(/[^0-9.]/g, '')) > 0);
})()`

func evalJS[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.120s: %v", expr, err)
	}
	return v
}

// poll waits up to timeout until expr is true.
func poll(ctx context.Context, expr string, timeout time.Duration) error {
	return chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// settled is true when htmx is neither requesting, swapping nor settling:
// content swapped in gets its htmx behaviour only when it settles.
const settled = `!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`

// waitJS waits until expr is true and htmx has settled.
func waitJS(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	waitJSFor(ctx, t, what, "("+expr+") && "+settled, 10*time.Second)
}

// waitJSFor waits up to timeout until expr is true.
func waitJSFor(ctx context.Context, t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	err := poll(ctx, expr, timeout)
	for err != nil && navigatedAway(err) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		err = poll(ctx, expr, time.Until(deadline))
	}
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: waited in vain at %s for %s: %v", what, loc, expr, err)
	}
}

// navigatedAway says whether a poll failed because a page load cut its
// evaluation short: the context it ran in destroyed, or the tab
// navigating while it ran (as a link's full page load does). The wait
// goes on on the new page.
func navigatedAway(err error) bool {
	for _, s := range []string{"Cannot find context", "Execution context was destroyed", "Inspected target navigated or closed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func click(ctx context.Context, t *testing.T, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	return evalJS[string](ctx, t, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent.replace(/\s+/g, ' ').trim()`, sel))
}

// numberAt is the number in the first element matching sel, or -1.
func numberAt(ctx context.Context, t *testing.T, sel string) float64 {
	t.Helper()
	return evalJS[float64](ctx, t, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		const v = el ? parseFloat(el.textContent.replace(/[^0-9.]/g, '')) : NaN;
		return isNaN(v) ? -1 : v;
	})()`, sel))
}

func kpi(ctx context.Context, t *testing.T, id string) float64 {
	t.Helper()
	return numberAt(ctx, t, `[data-testid="kpi-`+id+`-value"]`)
}

func rows(ctx context.Context, t *testing.T, table string) int {
	t.Helper()
	return evalJS[int](ctx, t, fmt.Sprintf(`document.querySelectorAll('[data-testid=%q] [data-testid="row"]').length`, "table-"+table))
}

// crumbs is the breadcrumbs' links' text joined by " › " ("" without any).
func crumbs(ctx context.Context, t *testing.T) string {
	t.Helper()
	return evalJS[string](ctx, t, `[...document.querySelectorAll('[data-testid="breadcrumbs"] a')].map(a => a.textContent.trim()).join(' › ')`)
}

func location(ctx context.Context, t *testing.T) string {
	t.Helper()
	return evalJS[string](ctx, t, `location.href`)
}

// markBody flags the current #dash-body so a swap can be seen.
func markBody(ctx context.Context, t *testing.T) {
	t.Helper()
	evalJS[bool](ctx, t, `document.getElementById('dash-body').setAttribute('data-old', ''), true`)
}

// setSelect chooses value in the select with the test id and fires change
// as a user's choice does.
func setSelect(ctx context.Context, t *testing.T, testID, value string) {
	t.Helper()
	evalJS[bool](ctx, t, fmt.Sprintf(`(() => {
		const s = document.querySelector('[data-testid=%q]');
		s.value = %q;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return s.value === %q;
	})()`, testID, value, value))
}

// noOverflow checks that nothing makes the page scroll sideways, naming
// the widest elements when something does.
func noOverflow(ctx context.Context, t *testing.T, page string) {
	t.Helper()
	over := evalJS[string](ctx, t, `(() => {
		const d = document.documentElement;
		if (d.scrollWidth <= d.clientWidth) return '';
		const out = [];
		for (const el of document.body.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.right > d.clientWidth + 0.5 && r.width > 0) {
				out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
					(el.dataset.testid ? '[data-testid=' + el.dataset.testid + ']' : '') +
					(typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
					' right=' + Math.round(r.right));
			}
			if (out.length >= 6) break;
		}
		return 'scrollWidth ' + d.scrollWidth + ' > clientWidth ' + d.clientWidth + ': ' + out.join('; ');
	})()`)
	if over != "" {
		t.Errorf("%s overflows horizontally at 390 px: %s", page, over)
	}
}

// takeConsoleErrors returns the browser's console errors so far and
// forgets them.
func takeConsoleErrors(b *browser) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errors
	b.errors = nil
	return errs
}

func noConsoleErrors(t *testing.T, b *browser, page string) {
	t.Helper()
	// Give late errors (scripts run after load, htmx settling) a moment.
	time.Sleep(50 * time.Millisecond)
	for _, e := range takeConsoleErrors(b) {
		t.Errorf("%s: console error: %s", page, e)
	}
}

// expectOnly allows the console error the browser prints for an error
// status (e.g. "status of 404") and nothing else.
func expectOnly(t *testing.T, b *browser, page, allowed string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	for _, e := range takeConsoleErrors(b) {
		if !strings.Contains(e, allowed) {
			t.Errorf("%s: console error: %s", page, e)
		}
	}
}
