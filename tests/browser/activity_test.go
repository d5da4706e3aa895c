package browser

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// acmeValue runs sql, which may use the CTE acme (the tenant's id), and
// returns its one value.
func acmeValue[T any](t *testing.T, srv *testserver.Server, sql string, args ...any) T {
	t.Helper()
	var out T
	err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`WITH acme AS (SELECT id FROM tenants WHERE slug = 'acme') `+sql, args...).Scan(&out).Error
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// incognito is a tab of b with cookies of its own, signed in as email.
func incognito(t *testing.T, b *browser, srv *testserver.Server, email string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelStep := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelStep)
	if err := login(ctx, srv, email); err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
	return ctx
}

// shownIn is a script: does the live section key list learner id?
func shownIn(key string, id int64) string {
	return fmt.Sprintf(`!!document.querySelector('[data-live=%q] a[href="/learners/%d"]')`, key, id)
}

// TestLiveActivityTreeAndMyLearning: "Activity now" of the engagement
// dashboard, the team tree and My learning change on open pages when a
// statement arrives, for those who may see it only.
func TestLiveActivityTreeAndMyLearning(t *testing.T) {
	srv := testserver.Start(t)
	inTeam := loadLiveAcme(t, srv)
	ctx := context.Background()
	inTeamID := acmeValue[int64](t, srv, `SELECT l.id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.email = ?`, inTeam)
	// Another manager: someone with reports who is neither in
	// manager@acme.test's part of the organisation nor above it.
	otherEmail := acmeValue[string](t, srv, `, m AS (SELECT l.id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.email = 'manager@acme.test')
		SELECT l.email FROM learners l, acme, m WHERE l.tenant_id = acme.id AND l.id <> m.id
		AND EXISTS (SELECT 1 FROM learners r WHERE r.tenant_id = l.tenant_id AND r.manager_id = l.id)
		AND NOT EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = l.tenant_id AND c.manager_id = m.id AND c.learner_id = l.id)
		AND NOT EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = l.tenant_id AND c.manager_id = l.id AND c.learner_id IN (m.id, ?))
		ORDER BY l.id LIMIT 1`, inTeamID)
	if otherEmail == "" {
		t.Fatal("no other manager in the generated organisation")
	}
	tenant, err := models.NewTenantStore(srv.DB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.NewUserStore(srv.DB).Create(ctx, tenant.ID, models.NewUser{Email: otherEmail, Name: "Other Manager",
		Role: models.RoleManager, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	admin := newBrowser(t, 1280, 900)
	signIn(t, admin, srv, "admin@acme.test")
	manager := newBrowser(t, 1280, 900)
	signIn(t, manager, srv, "manager@acme.test")
	engagement := srv.URL("acme.localhost", "/dashboards/engagement")
	adminPage := openLive(t, "admin", admin, long(t, admin), engagement)
	managerPage := openLive(t, "manager", manager, long(t, manager), engagement)
	otherPage := openLive(t, "other manager", admin, incognito(t, admin, srv, otherEmail), engagement)

	gctx, cancel := chromedp.NewContext(admin.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	gctx, cancelStep := context.WithTimeout(gctx, 3*time.Minute)
	t.Cleanup(cancelStep)
	err = chromedp.Do(gctx,
		chromedp.Navigate(srv.URL("globex.localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "admin@globex.test"),
		chromedp.SendKeys(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`)),
	)
	if err != nil {
		t.Fatalf("globex sign-in: %v", err)
	}
	globexPage := openLive(t, "globex", admin, gctx, srv.URL("globex.localhost", "/dashboards/engagement"))

	t.Run("a statement shows up in Activity now for the admin and the learner's manager only", func(t *testing.T) {
		for _, p := range []livePage{adminPage, managerPage, otherPage, globexPage} {
			if evalJS[bool](p.ctx, t, shownIn("activity-completions", inTeamID)) {
				t.Fatalf("%s: the learner's completion is listed before it happened", p.name)
			}
		}
		postCompletion(t, srv, inTeam)
		for _, p := range []livePage{adminPage, managerPage} {
			waitJSFor(p.ctx, t, p.name+": the learner among the active people and latest completions",
				shownIn("activity-active", inTeamID)+" && "+shownIn("activity-completions", inTeamID), 10*time.Second)
			if !evalJS[bool](p.ctx, t, `window.__notReloaded === true`) {
				t.Errorf("%s: the page was reloaded", p.name)
			}
		}
		screenshot(t, admin, "live-activity-admin.png")
		time.Sleep(1500 * time.Millisecond) // anything misrouted has landed by now
		for _, p := range []livePage{otherPage, globexPage} {
			if evalJS[bool](p.ctx, t, shownIn("activity-active", inTeamID)+" || "+shownIn("activity-completions", inTeamID)) {
				t.Errorf("%s: shows the learner's activity", p.name)
			}
		}
		if n := globexPage.updates(t); n != "0" {
			t.Errorf("globex page received %s updates", n)
		}
	})

	t.Run("an opened team node stays open when a push changes its numbers", func(t *testing.T) {
		root := acmeValue[int64](t, srv, `SELECT l.id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.email = 'manager@acme.test'`)
		// A direct report with a course to finish: a completion moves
		// their node's rate.
		report := acmeValue[string](t, srv, `SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id, acme
			WHERE c.tenant_id = acme.id AND c.manager_id = ? AND c.depth = 1 AND EXISTS (SELECT 1 FROM enrollments e
				WHERE e.tenant_id = l.tenant_id AND e.learner_id = l.id AND e.status <> 'completed')
			ORDER BY l.id LIMIT 1`, root)
		reportID := acmeValue[int64](t, srv, `SELECT l.id FROM learners l, acme WHERE l.tenant_id = acme.id AND l.email = ?`, report)
		tree := openLive(t, "manager's tree", manager, long(t, manager), srv.URL("acme.localhost", "/dashboards/team"))
		err := chromedp.Do(tree.ctx,
			// The tree opens with the manager's first level shown; open it
			// if it is not.
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(li => li.getAttribute('aria-expanded') === 'true' || li.querySelector('[data-testid="node-expand"]').click())(document.querySelector('li[data-node="%d"]'))`, root)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#children-%d li[data-node="%d"]`, root, reportID))),
		)
		if err != nil {
			t.Fatalf("open the manager's node: %v", err)
		}
		waitJSFor(tree.ctx, t, "settled", settled, 5*time.Second)
		numbers := fmt.Sprintf(`document.querySelector('#children-%d [data-live="node-%d"] [data-testid="node-completion"]').dataset.value`, root, reportID)
		before := evalJS[string](tree.ctx, t, numbers)
		// The page says it shows the opened node before the change comes.
		time.Sleep(500 * time.Millisecond)
		postCompletion(t, srv, report)
		waitJSFor(tree.ctx, t, "the report's completion rate changes without a reload", numbers+` !== `+strconv.Quote(before), 10*time.Second)
		if !evalJS[bool](tree.ctx, t, fmt.Sprintf(`document.querySelectorAll('#children-%d > ul > li').length > 0 && window.__notReloaded === true`, root)) {
			t.Errorf("the opened node was closed or the page reloaded")
		}
		screenshot(t, manager, "live-team-tree.png")
	})

	t.Run("My learning updates when the learner's statement arrives", func(t *testing.T) {
		me := openLive(t, "learner", admin, incognito(t, admin, srv, "learner@acme.test"), srv.URL("acme.localhost", "/me"))
		before := me.completed(t)
		postCompletion(t, srv, "learner@acme.test")
		me.waitCompleted(t, before)
	})
	t.Run("pages reached by htmx swaps subscribe without a reload", func(t *testing.T) {
		// From Activity now to the learner's page, in place.
		// Clicked in one step: "Activity now" catches up with the last
		// completion within seconds (it may lag under ingest) and its card
		// is swapped then, which can fall between a query and a click.
		evalJS[bool](adminPage.ctx, t, fmt.Sprintf(`(() => { document.querySelector('[data-live="activity-active"] a[href="/learners/%d"]').click(); return true; })()`, inTeamID))
		waitJSFor(adminPage.ctx, t, "the learner's page", fmt.Sprintf(`location.pathname === '/learners/%d' && %s`, inTeamID, settled), 10*time.Second)
		adminPage.waitState(t, "live")
		before := adminPage.completed(t)
		postCompletion(t, srv, inTeam)
		adminPage.waitCompleted(t, before)
		// A course drill-down of the completion dashboard, in place.
		err := chromedp.Do(adminPage.ctx,
			chromedp.Navigate(srv.URL("acme.localhost", "/dashboards/completion")),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		evalJS[bool](adminPage.ctx, t, `window.__notReloaded = true`)
		adminPage.waitState(t, "live")
		if err := chromedp.Do(adminPage.ctx, chromedp.Click(chromedp.CSS(`#tbl-completion-courses a[href^="/dashboards/completion/courses/"]`))); err != nil {
			t.Fatal(err)
		}
		waitJSFor(adminPage.ctx, t, "a course's teams", `/^\/dashboards\/completion\/courses\/\d+$/.test(location.pathname) && `+settled, 10*time.Second)
		adminPage.waitState(t, "live")
		time.Sleep(1500 * time.Millisecond) // a refused subscription closes the socket
		if state := evalJS[string](adminPage.ctx, t, `document.querySelector('[data-testid="live-status"]').dataset.state`); state != "live" {
			t.Errorf("the drill-down's live status is %q", state)
		}
	})
	noConsoleErrors(t, manager, "manager's live pages")
	noConsoleErrors(t, admin, "admin's live pages")
}
