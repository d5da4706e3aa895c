// Package engines runs LearnLens's core journeys in the browser engines
// other than Chromium (which tests/browser drives): Firefox over WebDriver
// BiDi and WebKit, Safari's engine, over W3C WebDriver. Each test starts
// the real server on the test PostgreSQL, as tests/browser does.
//
// Tenants are addressed as acme.localhost: Firefox and WebKitGTK resolve
// every *.localhost name to the loopback address themselves (and treat it
// as a secure context, so the service worker registers), with no proxy,
// hosts file or resolver preference.
package engines

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// page is one browser tab, whatever the engine and protocol.
type page interface {
	name() string
	navigate(url string) error
	// eval runs a JavaScript expression (awaited when it is a promise) and
	// returns its value as JSON.
	eval(expr string) (json.RawMessage, error)
	click(css string) error
	typeText(css, text string) error
	screenshot() ([]byte, error)
	// resize makes the page width × height CSS pixels, or as near as the
	// browser's window allows, and returns the page's width.
	resize(width, height int) (int, error)
	// consoleErrors returns the errors the page reported since the last
	// call (Firefox: the console; WebKit: uncaught exceptions).
	consoleErrors() []string
}

func TestFirefoxJourneys(t *testing.T) { t.Parallel(); journeys(t, newFirefox) }

func TestWebKitJourneys(t *testing.T) { t.Parallel(); journeys(t, newWebKit) }

// dashboards are the five dashboards with a KPI that must be above zero
// ("" for none) and a table that must have rows ("" for none).
var dashboards = []struct{ name, title, kpi, table string }{
	{"completion", "Course completion", "completed", "completion/courses"},
	{"engagement", "Engagement and activity", "active", "engagement/courses"},
	{"compliance", "Compliance and certification", "assigned", "compliance/requirements"},
	{"assessments", "Assessment performance", "attempts", "assessments/courses"},
	{"team", "Team view", "", ""},
}

// journeys signs in as acme's admin and goes through what every user of
// the product does, in one tab of the engine newPage starts.
func journeys(t *testing.T, newPage func(*testing.T, int, int) page) {
	start := time.Now()
	srv := testserver.Start(t)
	learner := loadAcme(t, srv)
	p := newPage(t, 1280, 900)
	t.Cleanup(func() { t.Logf("%s journeys took %v", p.name(), time.Since(start).Round(time.Millisecond)) })
	acme := func(path string) string { return srv.URL("acme.localhost", path) }

	t.Run("sign in", func(t *testing.T) {
		must(t, p.navigate(acme("/login")))
		waitJS(t, p, "sign-in form", `!!document.querySelector('[data-testid="login-form"]')`)
		must(t, p.typeText("#email", "admin@acme.test"))
		must(t, p.typeText("#password", seed.DemoPassword))
		must(t, p.click(`[data-testid="login-submit"]`))
		waitJS(t, p, "home page", `!!document.querySelector('[data-testid="home"]')`)
		if org := text(t, p, `[data-testid="org-name"]`); org != "Acme Corp" {
			t.Errorf("organisation name %q, want Acme Corp", org)
		}
		if !evalJS[bool](t, p, `!!document.querySelector('[data-testid="nav"] [data-testid="nav-manage-open"]').offsetParent`) {
			t.Errorf("the admin's navigation is hidden at 1280 px")
		}
		screenshot(t, p, "home-admin")
		noErrors(t, p, "home")
	})

	t.Run("manifest and service worker", func(t *testing.T) {
		scope := evalJS[string](t, p, `navigator.serviceWorker.ready.then(r => r.active ? r.scope : '')`)
		if scope != acme("/") {
			t.Errorf("service worker scope %q, want %q", scope, acme("/"))
		}
		m := evalJS[struct {
			Status int
			Type   string
			Name   string
			Icons  int
		}](t, p, `(async () => {
			const href = document.querySelector('link[rel="manifest"]').href;
			const r = await fetch(href);
			const m = await r.json();
			return {Status: r.status, Type: r.headers.get('content-type'), Name: m.name, Icons: (m.icons || []).length};
		})()`)
		if m.Status != 200 || !strings.Contains(m.Type, "manifest+json") || m.Name == "" || m.Icons == 0 {
			t.Errorf("manifest: %+v", m)
		}
		noErrors(t, p, "service worker")
	})

	t.Run("each dashboard", func(t *testing.T) {
		for _, d := range dashboards {
			open(t, p, acme("/dashboards/"+d.name))
			if got := text(t, p, `[data-testid="dashboard-title"]`); got != d.title {
				t.Errorf("%s: title %q, want %q", d.name, got, d.title)
			}
			if d.kpi != "" {
				if v := kpi(t, p, d.kpi); v <= 0 {
					t.Errorf("%s: KPI %s is %v", d.name, d.kpi, v)
				}
				if !evalJS[bool](t, p, `[...document.querySelectorAll('svg[role="img"]')].some(s => s.getBoundingClientRect().width > 0)`) {
					t.Errorf("%s: no chart is drawn", d.name)
				}
			}
			if d.table != "" {
				if n := rows(t, p, d.table); n == 0 {
					t.Errorf("%s: table %s has no rows", d.name, d.table)
				}
			}
			if d.name == "team" && evalJS[int](t, p, `document.querySelectorAll('[data-testid="tree-node"]').length`) == 0 {
				t.Errorf("team: no people in the tree")
			}
			screenshot(t, p, "dash-"+d.name)
			noErrors(t, p, d.name)
		}
	})

	t.Run("a filter", func(t *testing.T) {
		open(t, p, acme("/dashboards/completion"))
		before := kpi(t, p, "enrolled")
		dept := evalJS[string](t, p, `document.querySelector('[data-testid="filter-department"]').options[1].value`)
		evalJS[bool](t, p, `(document.getElementById('dash-body').setAttribute('data-old', ''), true)`)
		evalJS[bool](t, p, fmt.Sprintf(`(() => {
			const s = document.querySelector('[data-testid="filter-department"]');
			s.value = %q;
			s.dispatchEvent(new Event('change', {bubbles: true}));
			return true;
		})()`, dept))
		waitJS(t, p, "the body swapped after a department change", `!!document.getElementById('dash-body') && !document.querySelector('#dash-body[data-old]')`)
		if got := evalJS[string](t, p, `new URLSearchParams(location.search).get('department') || ''`); got != dept {
			t.Errorf("URL %s after choosing department %q", evalJS[string](t, p, `location.href`), dept)
		}
		if after := kpi(t, p, "enrolled"); !(after > 0 && after < before) {
			t.Errorf("Enrolled is %v for department %q, %v for all", after, dept, before)
		}
		noErrors(t, p, "filter")
	})

	t.Run("a drill-down", func(t *testing.T) {
		open(t, p, acme("/dashboards/completion"))
		const link = `[data-testid="table-completion/courses"] [data-testid="drill"]`
		course := text(t, p, link)
		must(t, p.click(link))
		waitJS(t, p, "the course's page", `/^\/dashboards\/completion\/courses\//.test(location.pathname)
			&& !!document.querySelector('[data-testid="table-completion/teams"] [data-testid="row"]')`)
		if got := text(t, p, `[data-testid="dashboard-title"]`); got != course {
			t.Errorf("drill-down title %q, want %q", got, course)
		}
		screenshot(t, p, "drill-course")
		noErrors(t, p, "drill-down")
	})

	t.Run("an export", func(t *testing.T) {
		open(t, p, acme("/dashboards/completion"))
		got := evalJS[struct {
			Status      int
			Type, Name  string
			Lines       int
			XLSX, Bytes int
		}](t, p, `(async () => {
			const tbl = '[data-testid="table-completion/courses"] ';
			const csv = await fetch(document.querySelector(tbl + '[data-testid="export-csv"]').href);
			const text = await csv.text();
			const xlsx = await fetch(document.querySelector(tbl + '[data-testid="export-xlsx"]').href);
			const bytes = (await xlsx.arrayBuffer()).byteLength;
			return {Status: csv.status, Type: csv.headers.get('content-type'), Name: csv.headers.get('content-disposition') || '',
				Lines: text.trim().split('\n').length, XLSX: xlsx.status, Bytes: bytes};
		})()`)
		if got.Status != 200 || !strings.HasPrefix(got.Type, "text/csv") || !strings.Contains(got.Name, ".csv") || got.Lines < 2 ||
			got.XLSX != 200 || got.Bytes < 1000 {
			t.Errorf("exports: %+v", got)
		}
	})

	t.Run("a live update", func(t *testing.T) {
		open(t, p, acme("/dashboards/completion"))
		evalJS[bool](t, p, `(window.__notReloaded = true)`)
		waitJSFor(t, p, "the live connection", `document.querySelector('[data-testid="live-status"]').dataset.state === 'live'`, 20*time.Second)
		before := kpi(t, p, "completed")
		postCompletion(t, srv, learner)
		waitJSFor(t, p, "Completed to rise without a reload", fmt.Sprintf(`(() => {
			const el = document.querySelector('[data-testid="kpi-completed-value"]');
			return !!el && parseFloat(el.textContent.replace(/[^0-9.]/g, '')) > %v;
		})()`, before), 15*time.Second)
		if !evalJS[bool](t, p, `window.__notReloaded === true`) {
			t.Errorf("the page was reloaded")
		}
		noErrors(t, p, "live update")
	})

	t.Run("phone width", func(t *testing.T) {
		// WebKitGTK's MiniBrowser window is at least 447 px wide: WebKit's
		// phone layout is checked at that width.
		width, err := p.resize(390, 844)
		must(t, err)
		if width > 460 {
			t.Fatalf("the page is %d px wide, want a phone's width", width)
		}
		t.Cleanup(func() { _, _ = p.resize(1280, 900) })
		for _, path := range []string{"/", "/dashboards/completion"} {
			name := map[string]string{"/": "home-phone", "/dashboards/completion": "dash-completion-phone"}[path]
			must(t, p.navigate(acme(path)))
			waitJS(t, p, "the page at a phone's width", `!!document.querySelector('[data-testid="mobile-nav"]')
				&& getComputedStyle(document.querySelector('.skip-link')).position === 'absolute'`)
			got := evalJS[struct{ Overflow, Menu, WideNav bool }](t, p, `({
				Overflow: document.documentElement.scrollWidth > window.innerWidth,
				Menu: !!document.querySelector('[data-testid="mobile-nav"]').offsetParent,
				WideNav: !!document.querySelector('[data-testid="nav"]').offsetParent})`)
			if got.Overflow || !got.Menu || got.WideNav {
				t.Errorf("%s at %d px: overflows %v, phone menu visible %v, wide navigation visible %v", path, width, got.Overflow, got.Menu, got.WideNav)
			}
			screenshot(t, p, name)
		}
		noErrors(t, p, "phone width")
	})

	t.Run("offline page", func(t *testing.T) {
		// With the server gone, a navigation gets the offline page from
		// the service worker.
		srv.Down()
		must(t, p.navigate(acme("/")))
		waitJS(t, p, "the offline page", `/offline/i.test((document.querySelector('h1') || {}).textContent || '')`)
		screenshot(t, p, "offline")
	})
}

// loadAcme fills acme with a small organisation and returns the email of
// one of its learners.
func loadAcme(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	ctx := context.Background()
	tenant, err := models.NewTenantStore(srv.DB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 17, 80, 3, 6, 2, 1500
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), tenant.ID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	// A second after the last batch every view is exact (see viewcache).
	time.Sleep(1200 * time.Millisecond)
	var email string
	err = srv.DB.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT email FROM learners WHERE tenant_id = ? AND email LIKE '%@%' ORDER BY id DESC LIMIT 1`, tenant.ID).Scan(&email).Error
	})
	if err != nil || email == "" {
		t.Fatalf("a learner of acme: %q, %v", email, err)
	}
	return email
}

// postCompletion posts a completion of a new course by email to srv's
// xAPI endpoint with acme's credential.
func postCompletion(t *testing.T, srv *testserver.Server, email string) {
	t.Helper()
	course := fmt.Sprintf("https://lms.acme.test/courses/engine-%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"actor":{"mbox":"mailto:%s"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":%q},"timestamp":%q,"result":{"completion":true}}`,
		email, course, time.Now().UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, srv.URL("127.0.0.1", "/xapi/statements"), strings.NewReader(body))
	req.SetBasicAuth("acme-demo-key", "acme-demo-secret")
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST statement: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST statement: status %d", resp.StatusCode)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func evalJS[T any](t *testing.T, p page, expr string) T {
	t.Helper()
	var v T
	raw, err := p.eval(expr)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		t.Fatalf("%s: evaluate %.160s: %v", p.name(), expr, err)
	}
	return v
}

// settled is true when htmx is neither requesting, swapping nor settling.
const settled = `!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`

func waitJS(t *testing.T, p page, what, expr string) {
	t.Helper()
	waitJSFor(t, p, what, expr, 15*time.Second)
}

// waitJSFor waits until expr is true and htmx has settled. An evaluation
// that fails while a new page loads is tried again.
func waitJSFor(t *testing.T, p page, what, expr string, timeout time.Duration) {
	t.Helper()
	expr = "(" + expr + ") && " + settled
	deadline := time.Now().Add(timeout)
	var last string
	for {
		raw, err := p.eval(expr)
		if err == nil && string(raw) == "true" {
			return
		}
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			loc, _ := p.eval(`location.href`)
			t.Fatalf("%s: waited %v in vain at %s for %s (last error: %s; page errors: %v)", p.name(), timeout, loc, what, last, p.consoleErrors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open loads url and waits for a dashboard.
func open(t *testing.T, p page, url string) {
	t.Helper()
	must(t, p.navigate(url))
	waitJS(t, p, "a dashboard at "+url, `!!document.querySelector('[data-testid="dashboard"]')`)
}

func text(t *testing.T, p page, css string) string {
	t.Helper()
	return evalJS[string](t, p, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent.replace(/\s+/g, ' ').trim()`, css))
}

func kpi(t *testing.T, p page, id string) float64 {
	t.Helper()
	return evalJS[float64](t, p, fmt.Sprintf(`(() => {
		const el = document.querySelector('[data-testid="kpi-%s-value"]');
		const v = el ? parseFloat(el.textContent.replace(/[^0-9.]/g, '')) : NaN;
		return isNaN(v) ? -1 : v;
	})()`, id))
}

func rows(t *testing.T, p page, table string) int {
	t.Helper()
	return evalJS[int](t, p, fmt.Sprintf(`document.querySelectorAll('[data-testid=%q] [data-testid="row"]').length`, "table-"+table))
}

func noErrors(t *testing.T, p page, where string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	for _, e := range p.consoleErrors() {
		t.Errorf("%s: %s: %s", p.name(), where, e)
	}
}

// screenshot saves the page as tests/artifacts/ENGINE-NAME.png.
func screenshot(t *testing.T, p page, name string) {
	t.Helper()
	png, err := p.screenshot()
	if err != nil {
		t.Fatalf("%s: screenshot %s: %v", p.name(), name, err)
	}
	dir := filepath.Join("..", "artifacts")
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, p.name()+"-"+name+".png"), png, 0o644))
}
