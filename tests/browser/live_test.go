package browser

import (
	"context"
	"fmt"
	"net/http"
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

// loadLiveAcme fills acme with a small organisation and returns the email
// of someone in manager@acme.test's team.
func loadLiveAcme(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	ctx := context.Background()
	tenant, err := models.NewTenantStore(srv.DB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 13, 80, 3, 6, 2, 1500
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), tenant.ID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	// A second after the last batch every view is exact (see viewcache).
	time.Sleep(1200 * time.Millisecond)
	var email string
	err = srv.DB.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id
			JOIN learners m ON m.tenant_id = c.tenant_id AND m.id = c.manager_id AND m.email = 'manager@acme.test'
			WHERE c.tenant_id = ? AND l.id <> m.id ORDER BY l.id LIMIT 1`, tenant.ID).Scan(&email).Error
	})
	if err != nil || email == "" {
		t.Fatalf("someone in the manager's team: %q, %v", email, err)
	}
	return email
}

// postCompletion posts a completion of a new course by email to srv's
// xAPI endpoint with acme's credential.
func postCompletion(t *testing.T, srv *testserver.Server, email string) {
	t.Helper()
	course := fmt.Sprintf("https://lms.acme.test/courses/live-%d", time.Now().UnixNano())
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

// livePage is an open dashboard in a tab.
type livePage struct {
	name string
	ctx  context.Context
	b    *browser
}

// openLive opens url in ctx, marks the document (a reload would lose the
// mark) and waits until the page's live connection is up.
func openLive(t *testing.T, name string, b *browser, ctx context.Context, url string) livePage {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
	)
	if err != nil {
		t.Fatalf("%s: open %s: %v (console: %v)", name, url, err, b.consoleErrors())
	}
	evalJS[bool](ctx, t, `window.__notReloaded = true`)
	p := livePage{name: name, ctx: ctx, b: b}
	p.waitState(t, "live")
	return p
}

func (p livePage) waitState(t *testing.T, state string) {
	t.Helper()
	waitJSFor(p.ctx, t, p.name+": live status "+state,
		fmt.Sprintf(`document.querySelector('[data-testid="live-status"]').dataset.state === %q`, state), 20*time.Second)
}

func (p livePage) completed(t *testing.T) float64 { t.Helper(); return kpi(p.ctx, t, "completed") }

func (p livePage) updates(t *testing.T) string {
	t.Helper()
	return evalJS[string](p.ctx, t, `document.querySelector('[data-testid="live-status"]').dataset.updates || '0'`)
}

// waitCompleted waits until the Completed tile shows more than before,
// without a reload, and checks that the tile flashed.
func (p livePage) waitCompleted(t *testing.T, before float64) {
	t.Helper()
	waitJSFor(p.ctx, t, p.name+": Completed above "+fmt.Sprint(before)+" without a reload", fmt.Sprintf(`(() => {
		const el = document.querySelector('[data-testid="kpi-completed-value"]');
		return !!el && parseFloat(el.textContent.replace(/[^0-9.]/g, '')) > %v;
	})()`, before), 10*time.Second)
	if !evalJS[bool](p.ctx, t, `window.__notReloaded === true`) {
		t.Errorf("%s: the page was reloaded", p.name)
	}
	if !evalJS[bool](p.ctx, t, `!!document.querySelector('[data-live="kpi-completed"].live-flash') || Number(document.querySelector('[data-testid="live-status"]').dataset.updates) > 0`) {
		t.Errorf("%s: the change was not highlighted", p.name)
	}
}

// long is a context for a tab used across several steps.
func long(t *testing.T, b *browser) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestLiveDashboards opens the completion dashboard as acme's admin and
// manager and as globex's admin, then changes acme's data over HTTP: the
// acme pages change without a reload and globex's gets nothing; a second
// instance on the same database serves a page that a statement accepted
// by the first updates; and a page reconnects after its server restarts.
func TestLiveDashboards(t *testing.T) {
	srv := testserver.Start(t)
	inTeam := loadLiveAcme(t, srv)

	admin := newBrowser(t, 1280, 900)
	signIn(t, admin, srv, "admin@acme.test")
	manager := newBrowser(t, 1280, 900)
	signIn(t, manager, srv, "manager@acme.test")
	adminPage := openLive(t, "admin", admin, long(t, admin), srv.URL("acme.localhost", "/dashboards/completion"))
	managerPage := openLive(t, "manager", manager, long(t, manager), srv.URL("acme.localhost", "/dashboards/completion"))

	// Globex in a tab of the admin's browser: its own host, its own cookie.
	gctx, cancel := chromedp.NewContext(admin.ctx)
	t.Cleanup(cancel)
	gctx, cancelStep := context.WithTimeout(gctx, 2*time.Minute)
	t.Cleanup(cancelStep)
	err := chromedp.Do(gctx,
		chromedp.Navigate(srv.URL("globex.localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "admin@globex.test"),
		chromedp.SendKeys(chromedp.ID("password"), "learnlens-demo"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`)),
	)
	if err != nil {
		t.Fatalf("globex sign-in: %v", err)
	}
	globexPage := openLive(t, "globex", admin, gctx, srv.URL("globex.localhost", "/dashboards/completion"))
	globexBefore := evalJS[string](gctx, t, `document.querySelector('[data-testid="dashboard"]').innerText`)

	t.Run("a statement changes the open admin and manager dashboards", func(t *testing.T) {
		a, m := adminPage.completed(t), managerPage.completed(t)
		postCompletion(t, srv, inTeam)
		adminPage.waitCompleted(t, a)
		managerPage.waitCompleted(t, m)
		screenshot(t, admin, "live-completion-admin.png")
		noConsoleErrors(t, manager, "manager's live page")
	})

	t.Run("after a filter change the page follows its new view", func(t *testing.T) {
		// Completions in the period differ between 90 days (the default)
		// and 7 days: a push for the old view would show the 90-day figure.
		wide := kpi(adminPage.ctx, t, "completed-in-period")
		setSelect(adminPage.ctx, t, "filter-range", "7d")
		waitJSFor(adminPage.ctx, t, "range in the URL", `new URLSearchParams(location.search).get('range') === '7d' && `+settled, 10*time.Second)
		narrow := kpi(adminPage.ctx, t, "completed-in-period")
		if narrow >= wide {
			t.Fatalf("completions in 7 days %v, in 90 days %v: the test needs them to differ", narrow, wide)
		}
		before := adminPage.completed(t)
		postCompletion(t, srv, inTeam)
		adminPage.waitCompleted(t, before)
		if got := kpi(adminPage.ctx, t, "completed-in-period"); got != narrow+1 {
			t.Errorf("completions in 7 days show %v after one more, want %v (the 90-day figure was %v)", got, narrow+1, wide)
		}
	})

	t.Run("an open globex page gets nothing", func(t *testing.T) {
		// The acme pushes are done; give anything misrouted time to land.
		time.Sleep(1500 * time.Millisecond)
		if n := globexPage.updates(t); n != "0" {
			t.Errorf("globex page received %s updates", n)
		}
		if after := evalJS[string](gctx, t, `document.querySelector('[data-testid="dashboard"]').innerText`); after != globexBefore {
			t.Errorf("globex page changed")
		}
	})

	b := testserver.StartOn(t, srv.DB)
	t.Run("a statement accepted by one instance updates a page on another", func(t *testing.T) {
		// The session cookie is the host's, whatever the port.
		onB := openLive(t, "admin on instance B", admin, long(t, admin), b.URL("acme.localhost", "/dashboards/completion"))
		before := onB.completed(t)
		postCompletion(t, srv, inTeam)
		onB.waitCompleted(t, before)
	})

	t.Run("a page reconnects after its server restarts", func(t *testing.T) {
		m := openLive(t, "manager", manager, long(t, manager), srv.URL("acme.localhost", "/dashboards/completion"))
		srv.Restart(t)
		m.waitState(t, "live")
		before := m.completed(t)
		postCompletion(t, srv, inTeam)
		m.waitCompleted(t, before)
		onlyReconnectErrors(t, manager, "manager's page across a restart")
	})

	t.Run("a page that missed changes while its server was down resyncs", func(t *testing.T) {
		m := openLive(t, "manager", manager, long(t, manager), srv.URL("acme.localhost", "/dashboards/completion"))
		before := m.completed(t)
		srv.Down()
		m.waitState(t, "reconnecting")
		postCompletion(t, b, inTeam) // accepted by the other instance meanwhile
		srv.Up(t)
		m.waitState(t, "live")
		m.waitCompleted(t, before)
		onlyReconnectErrors(t, manager, "manager's page across a gap")
	})

	t.Run("the page shows when the browser goes offline and comes back", func(t *testing.T) {
		m := openLive(t, "manager", manager, long(t, manager), srv.URL("acme.localhost", "/dashboards/completion"))
		evalJS[bool](m.ctx, t, `window.dispatchEvent(new Event('offline')), true`)
		m.waitState(t, "offline")
		if got := text(m.ctx, t, `[data-testid="live-status"]`); got != "Offline" {
			t.Errorf("offline status reads %q", got)
		}
		evalJS[bool](m.ctx, t, `window.dispatchEvent(new Event('online')), true`)
		m.waitState(t, "live")
		before := m.completed(t)
		postCompletion(t, srv, inTeam)
		m.waitCompleted(t, before)
	})
	onlyReconnectErrors(t, admin, "admin's live pages")
}

// onlyReconnectErrors allows the console errors that the browser and
// htmx's ws extension print for reconnection attempts while a server was
// down, and nothing else.
func onlyReconnectErrors(t *testing.T, b *browser, page string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	for _, e := range takeConsoleErrors(b) {
		if !strings.Contains(e, "ERR_CONNECTION_REFUSED") && !strings.Contains(e, "[object Event]") {
			t.Errorf("%s: console error: %s", page, e)
		}
	}
}
