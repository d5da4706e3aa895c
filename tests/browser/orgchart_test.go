package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// bandRGB is each tree band's colour (static/src/app.css --status-*).
var bandRGB = map[string]string{"good": "rgb(5, 150, 105)", "fair": "rgb(217, 119, 6)", "lag": "rgb(225, 29, 72)", "none": "rgb(203, 213, 225)"}

// TestOrgChart drives the team view's tree, the point-in-time tree, the
// home numbers, number formatting and printing in Chromium at 1280 and
// 390 px, as an admin, a manager and a learner.
func TestOrgChart(t *testing.T) {
	srv := testserver.Start(t)
	data := loadAcme(t, srv)
	// One of the manager's direct reports (with nobody under them) moves
	// to another manager three days ago: ten days ago they were the
	// manager's, today they are not.
	mover := acmeValue[int64](t, srv, `SELECT l.id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.manager_id = ?
		AND NOT EXISTS (SELECT 1 FROM learners r WHERE r.tenant_id = l.tenant_id AND r.manager_id = l.id) ORDER BY l.id LIMIT 1`, data.manager)
	row := acmeValue[struct{ EmployeeID, Email, Name string }](t, srv, `SELECT l.employee_id, l.email, l.name FROM learners l, acme WHERE l.tenant_id = acme.id AND l.id = ?`, mover)
	boss := acmeValue[string](t, srv, `SELECT l.employee_id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.id = ?`, data.otherManager)
	moved := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
	past := time.Now().UTC().AddDate(0, 0, -10).Format(time.DateOnly)
	csv := fmt.Sprintf("employee_id,email,name,manager_employee_id,effective_date\n%s,%s,%s,%s,%s\n", row.EmployeeID, row.Email, row.Name, boss, moved)
	rep, err := pipeline.New(srv.DB).Import(context.Background(), pipeline.ImportRequest{TenantID: data.tenant, Kind: imports.KindRoster,
		Filename: "move.csv", Data: []byte(csv), Mode: pipeline.ModeAllOrNothing})
	if err != nil || rep.Outcome == "failed" {
		t.Fatalf("move %d under %d: %+v, %v", mover, data.otherManager, rep, err)
	}

	t.Run("admin", func(t *testing.T) {
		b := newBrowser(t, 1280, 900)
		signIn(t, b, srv, "admin@acme.test")
		ctx := b.step(t)

		// Home: the organisation's headline numbers, formatted as on the dashboards.
		visit(ctx, t, b, srv, "/", "home-numbers")
		homeRate := text(ctx, t, `[data-testid="kpi-home-completion-value"]`)
		for _, id := range []string{"home-completion", "home-overdue", "home-compliance", "home-active"} {
			if n := numberAt(ctx, t, `[data-testid="kpi-`+id+`-value"]`); n <= 0 {
				t.Errorf("home: %s is %v", id, n)
			}
		}
		screenshot(t, b, "orgchart-home-admin-1280.png")
		open(ctx, t, b, srv, "/dashboards/completion")
		if got := text(ctx, t, `[data-testid="kpi-completion-rate-value"]`); got != homeRate {
			t.Errorf("completion rate reads %q on home and %q on the dashboard", homeRate, got)
		}
		if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="dash-body"] [data-testid^="kpi-"] time').length`); n != 0 {
			t.Errorf("%d tiles repeat 'data as of'", n)
		}
		// Tables: thousands separators, % on rates with one decimal at most.
		open(ctx, t, b, srv, "/dashboards/engagement")
		cells := evalJS[[]string](ctx, t, `[...document.querySelectorAll('table td')].map(td => td.textContent.trim())`)
		grouped, raw := 0, []string{}
		for _, c := range cells {
			switch {
			case isGrouped(c):
				grouped++
			case len(c) >= 4 && strings.Trim(c, "0123456789") == "":
				raw = append(raw, c)
			}
		}
		if grouped == 0 || len(raw) > 0 {
			t.Errorf("engagement tables: %d numbers with separators, %v without (cells %v)", grouped, raw, cells[:min(len(cells), 20)])
		}
		open(ctx, t, b, srv, "/dashboards/completion")
		rates := evalJS[[]string](ctx, t, `[...document.querySelectorAll('table td')].map(td => td.textContent.trim()).filter(s => s.endsWith('%'))`)
		if len(rates) == 0 {
			t.Errorf("completion tables show no rates with %%")
		}
		for _, r := range rates {
			if !isPercent(r) {
				t.Errorf("rate cell %q is not written like 81.2%%", r)
			}
		}

		ctx = b.step(t)
		// Drill-downs: tiles of the whole level and a chart, at both levels.
		click(ctx, t, `[data-testid="table-completion/courses"] [data-testid="drill"]`)
		waitJS(ctx, t, "course level tiles and chart", `!!document.querySelector('[data-testid="kpi-drill-rate"]')
			&& document.querySelectorAll('[data-testid="chart-drill-teams"] [data-value]').length > 0`)
		if rate := text(ctx, t, `[data-testid="kpi-drill-rate-value"]`); !isPercent(rate) {
			t.Errorf("course level: rate tile reads %q", rate)
		}
		// Each team's bar has the colour of its band in the team tree.
		wrong := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="chart-drill-teams"] rect[data-value]')].flatMap(r => {
			const v = parseFloat(r.dataset.value), c = r.getAttribute('class');
			const want = v >= 80 ? 'fill-emerald-600' : v >= 60 ? 'fill-amber-600' : 'fill-rose-600';
			return c.includes(want) ? [] : [v + ': ' + c];
		})`)
		if len(wrong) > 0 {
			t.Errorf("course level: bars coloured against their band: %q", wrong)
		}
		screenshot(t, b, "orgchart-drill-course-1280.png")
		click(ctx, t, `[data-testid="table-completion/teams"] [data-testid="drill"]`)
		waitJS(ctx, t, "team level tiles and chart", `!!document.querySelector('[data-testid="kpi-drill-rows"]')
			&& !!document.querySelector('[data-testid="chart-drill-status"]')`)
		if n, rows := numberAt(ctx, t, `[data-testid="kpi-drill-rows-value"]`), evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="table-completion/learners"] [data-testid="row"]').length`); n < float64(rows) || rows == 0 {
			t.Errorf("team level: %v learners on the tile, %d rows in the table", n, rows)
		}

		ctx = b.step(t)
		// Question results name the question, not its IRI.
		course := acmeValue[int64](t, srv, `SELECT e.course_id FROM learning_events e, acme WHERE e.tenant_id = acme.id AND e.kind = 'interaction' LIMIT 1`)
		open(ctx, t, b, srv, fmt.Sprintf("/dashboards/assessments/courses/%d?range=12m", course))
		questions := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="table-assessments/questions"] [data-testid="row"] > :first-child')].map(c => c.textContent.trim())`)
		if len(questions) == 0 {
			t.Errorf("no question results for course %d", course)
		}
		for _, q := range questions {
			if strings.Contains(q, "://") {
				t.Errorf("question shown as %q, not by its name", q)
			}
		}

		ctx = b.step(t)
		// A search typed offline says it needs a connection.
		open(ctx, t, b, srv, "/dashboards/completion")
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="table-completion/courses"] [data-testid="table-search"]`), "zz"+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		waitJS(ctx, t, "offline notice", `(document.querySelector('[data-testid="offline-notice"]')?.textContent || '').includes('Searching needs a connection')`)
		screenshot(t, b, "orgchart-offline-search-1280.png")
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			t.Fatal(err)
		}
		takeConsoleErrors(b)

		ctx = b.step(t)
		// The tree: one tab stop, the first level open, bands coloured.
		open(ctx, t, b, srv, "/dashboards/team")
		waitJS(ctx, t, "tree", `!!document.querySelector('[role="tree"] > [role="treeitem"][tabindex="0"][aria-expanded="true"]')`)
		first := evalJS[string](ctx, t, `document.querySelector('[role="tree"] > [role="treeitem"]').dataset.node`)
		if n := evalJS[int](ctx, t, `document.querySelectorAll('[role="tree"] a[tabindex="0"], [role="tree"] a:not([tabindex])').length`); n != 0 {
			t.Errorf("%d links in the tree are tab stops of their own", n)
		}
		checkBands(ctx, t, "completion")
		screenshot(t, b, "orgchart-tree-1280.png")
		click(ctx, t, `[data-testid="tree-color-compliance"]`)
		waitJS(ctx, t, "compliance colours", `document.querySelector('[data-tree]').dataset.color === 'compliance'`)
		checkBands(ctx, t, "compliance")
		screenshot(t, b, "orgchart-tree-compliance-1280.png")

		ctx = b.step(t)
		// Keyboard: down to the first report, left back up, left closes,
		// right opens, and right on a report that has people loads them.
		evalJS[bool](ctx, t, `(document.querySelector('[role="tree"] > [role="treeitem"]').focus(), true)`)
		key(ctx, t, kb.ArrowDown)
		if lvl := evalJS[string](ctx, t, `document.activeElement.getAttribute('aria-level')`); lvl != "2" {
			t.Errorf("ArrowDown from the top node focused level %q, want 2", lvl)
		}
		key(ctx, t, kb.ArrowLeft)
		if got := evalJS[string](ctx, t, `document.activeElement.dataset.node`); got != first {
			t.Errorf("ArrowLeft focused node %q, want the parent %s", got, first)
		}
		key(ctx, t, kb.ArrowLeft)
		waitJS(ctx, t, "closed", `document.activeElement.getAttribute('aria-expanded') === 'false' && document.querySelector('#children-`+first+`').hidden`)
		key(ctx, t, kb.ArrowRight)
		waitJS(ctx, t, "open again", `document.activeElement.getAttribute('aria-expanded') === 'true' && !document.querySelector('#children-`+first+`').hidden`)
		sub := evalJS[string](ctx, t, `(() => { const li = [...document.querySelectorAll('#children-`+first+` > ul > [role="treeitem"][aria-expanded="false"]')][0]; li.focus(); return li.dataset.node; })()`)
		reports := numberAt(ctx, t, `[data-node="`+sub+`"] [data-testid="node-expand"]`)
		key(ctx, t, kb.ArrowRight)
		waitJS(ctx, t, "reports loaded by the keyboard", fmt.Sprintf(`document.querySelectorAll('#children-%s > ul > [role="treeitem"]').length === %d`, sub, int(reports)))
		if lvl := evalJS[string](ctx, t, `document.querySelector('#children-`+sub+` [role="treeitem"]').getAttribute('aria-level')`); lvl != "3" {
			t.Errorf("a loaded report has aria-level %q, want 3", lvl)
		}
		noConsoleErrors(t, b, "team tree by keyboard")

		ctx = b.step(t)
		// A click on a name drills down: the tree starts at that person.
		click(ctx, t, `[data-node="`+sub+`"] > .tree-row [data-testid="node-drill"]`)
		waitJS(ctx, t, "drilled", `new URLSearchParams(location.search).get('manager') === '`+sub+`'
			&& document.querySelector('[role="tree"] > [role="treeitem"]')?.dataset.node === '`+sub+`'`)

		// The table fallback holds the same numbers as the tree.
		open(ctx, t, b, srv, "/dashboards/team")
		if got, want := text(ctx, t, `[data-testid="tree-table-row"] td:nth-child(4)`), text(ctx, t, `[data-testid="tree-node"] [data-testid="node-completion"]`); got != want {
			t.Errorf("table fallback shows completion %q, the tree %q", got, want)
		}

		ctx = b.step(t)
		// Printing: no chrome or filters, the tree kept; a PDF to look at.
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
		if !evalJS[bool](ctx, t, `getComputedStyle(document.querySelector('[data-testid="filters"]')).display === 'none'
			&& getComputedStyle(document.querySelector('[data-testid="tree-asof-form"]')).display === 'none'
			&& getComputedStyle(document.querySelector('[role="tree"]')).display !== 'none'`) {
			t.Errorf("print media still shows the filters or hides the tree")
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/dashboards/team", "/dashboards/completion"} {
			open(ctx, t, b, srv, p)
			printPDF(ctx, t, "orgchart-print-"+filepath.Base(p))
		}

		ctx = b.step(t)
		// As of a past day: not live, said once, and another tenant's or an
		// unknown node is a 404.
		open(ctx, t, b, srv, "/dashboards/team?as_of="+past)
		waitJS(ctx, t, "as-of note", `!!document.querySelector('[data-testid="tree-asof-note"]') && !document.querySelector('[data-testid="live-status"]')`)
		for q, want := range map[string]int{"as_of=tomorrow": 400, "as_of=2999-01-01": 400, "as_of=" + past: 200} {
			if got := fetchStatus(ctx, t, "/dashboards/team/nodes/"+first+"?"+q); got != want {
				t.Errorf("node %s?%s: %d, want %d", first, q, got, want)
			}
		}
	})

	t.Run("manager at 390 px", func(t *testing.T) {
		b := newBrowser(t, 390, 844)
		signIn(t, b, srv, "manager@acme.test")
		ctx := b.step(t)
		visit(ctx, t, b, srv, "/", "home-numbers")
		if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="home-numbers"] [data-testid^="kpi-home-"][data-live]').length`); n != 4 {
			t.Errorf("manager's home shows %d numbers, want 4", n)
		}
		noOverflow(ctx, t, "manager home")
		screenshot(t, b, "orgchart-home-manager-390.png")

		open(ctx, t, b, srv, "/dashboards/team")
		waitJS(ctx, t, "tree", `!!document.querySelector('[role="tree"] > [role="treeitem"]')`)
		noOverflow(ctx, t, "team tree")
		if bad := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="tree-node"]')].filter(li => {
				const a = li.querySelector('[data-testid="node-drill"]').getBoundingClientRect();
				const n = li.querySelector('[data-testid="node-numbers"]').getBoundingClientRect();
				return a.bottom > n.top && a.top < n.bottom && a.right > n.left && a.left < n.right;
			}).map(li => li.dataset.node)`); len(bad) > 0 {
			t.Errorf("at 390 px names collide with numbers in nodes %v", bad)
		}
		screenshot(t, b, "orgchart-tree-390.png")
		today := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="tree-node"]')].map(n => n.dataset.node)`)
		if contains(today, fmt.Sprint(mover)) {
			t.Errorf("today's tree still lists %d, who moved to another manager", mover)
		}
		ctx = b.step(t)
		open(ctx, t, b, srv, "/dashboards/team?as_of="+past)
		waitJS(ctx, t, "as-of tree", `!!document.querySelector('[data-testid="tree-asof-note"]')`)
		then := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="tree-node"]')].map(n => n.dataset.node)`)
		if !contains(then, fmt.Sprint(mover)) {
			t.Errorf("the tree as of %s does not list %d, who reported to the manager then (nodes %v)", past, mover, then)
		}
		screenshot(t, b, "orgchart-tree-asof-390.png")
		noConsoleErrors(t, b, "manager's tree")
		// Outside the manager's part, then or now: 404 (which the console
		// reports as failed loads).
		if got := fetchStatus(ctx, t, fmt.Sprintf("/dashboards/team/nodes/%d?as_of=%s", data.otherManager, past)); got != 404 {
			t.Errorf("another manager's node as of %s: %d, want 404", past, got)
		}
		// Today the mover is not the manager's, but they were ten days ago:
		// as of then their node is in the part.
		if got := fetchStatus(ctx, t, fmt.Sprintf("/dashboards/team/nodes/%d?as_of=%s", mover, past)); got != 200 {
			t.Errorf("the mover's node as of %s: %d, want 200", past, got)
		}
		if got := fetchStatus(ctx, t, fmt.Sprintf("/dashboards/team/nodes/%d", mover)); got != 404 {
			t.Errorf("the mover's node today: %d, want 404", got)
		}
		takeConsoleErrors(b)
	})

	t.Run("learner", func(t *testing.T) {
		b := newBrowser(t, 390, 844)
		signIn(t, b, srv, "learner@acme.test")
		ctx := b.step(t)
		visit(ctx, t, b, srv, "/", "home-numbers")
		waitJS(ctx, t, "due next or nothing due", `!!document.querySelector('[data-testid="home-due"], [data-testid="home-due-none"]')`)
		noOverflow(ctx, t, "learner home")
		screenshot(t, b, "orgchart-home-learner-390.png")
	})
}

func key(ctx context.Context, t *testing.T, k string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(k)); err != nil {
		t.Fatalf("key %q: %v", k, err)
	}
}

// checkBands checks each visible node's left edge has its band's colour
// for the measure.
func checkBands(ctx context.Context, t *testing.T, measure string) {
	t.Helper()
	got := evalJS[[][]string](ctx, t, `[...document.querySelectorAll('[data-testid="tree-node"]')].filter(li => li.getClientRects().length).map(li =>
		[li.dataset.node, li.dataset.`+measure+`Band, getComputedStyle(li.querySelector('.tree-row')).borderLeftColor])`)
	if len(got) == 0 {
		t.Fatalf("no nodes")
	}
	for _, g := range got {
		if bandRGB[g[1]] != g[2] {
			t.Errorf("%s: node %s in band %q has edge %s, want %s", measure, g[0], g[1], g[2], bandRGB[g[1]])
		}
	}
}

func fetchStatus(ctx context.Context, t *testing.T, path string) int {
	t.Helper()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+fmt.Sprintf("%q", path)+`, {headers: {'HX-Request': 'true'}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s: %v", path, err)
	}
	return status
}

// printPDF prints the page as Chromium's "Save as PDF" does and, when
// pdftoppm is there, its first page as a PNG to look at.
func printPDF(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	yes := true
	res, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &yes})
	if err != nil {
		t.Fatalf("print %s: %v", name, err)
	}
	pdf := res.Data
	if len(pdf) < 1000 || string(pdf[:4]) != "%PDF" {
		t.Fatalf("print %s: %d bytes, not a PDF", name, len(pdf))
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifacts, name+".pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", file, strings.TrimSuffix(file, ".pdf")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm %s: %v %s", file, err, out)
		}
	}
}

func isGrouped(s string) bool {
	parts := strings.Split(s, ",")
	if len(parts) < 2 || len(parts[0]) == 0 || len(parts[0]) > 3 || strings.Trim(parts[0], "0123456789") != "" {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func isPercent(s string) bool {
	n, ok := strings.CutSuffix(s, "%")
	if !ok || n == "" {
		return false
	}
	if s == "<0.1%" {
		return true
	}
	whole, frac, dot := strings.Cut(n, ".")
	return (isGrouped(whole) || (whole != "" && strings.Trim(whole, "0123456789") == "")) && (!dot || (len(frac) == 1 && strings.Trim(frac, "0123456789") == ""))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
