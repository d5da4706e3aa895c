package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestBareDomainSignInHandsOverByPost: the sign-in begun on the bare domain
// reaches the tenant's host in a real browser, through the hand-over page's
// POST (its Origin is what the tenant's host checks), with no ticket in any
// URL the browser visits.
func TestBareDomainSignInHandsOverByPost(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 1280, 900)
	ctx := b.step(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "manager@acme.test"),
		chromedp.SendKeys(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`)),
	)
	if err != nil {
		t.Fatalf("bare-domain sign-in: %v (console: %v)", err, b.consoleErrors())
	}
	url, _ := chromedp.Run(ctx, chromedp.Location())
	if url != srv.URL("acme.localhost", "/") {
		t.Errorf("signed in at %q, want %s", url, srv.URL("acme.localhost", "/"))
	}
	if strings.Contains(url, "t=") {
		t.Errorf("the ticket is in the URL %q", url)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// TestPagesKeepWorkingUnderTheCSP: issue 14, strict headers. Every page
// is served with a nonce-based Content-Security-Policy; in Chromium none of
// them may violate it, htmx swaps still work, and the tenant's brand style
// (an inline <style> with the nonce) still applies. An injected inline
// style attribute is refused, which shows the check sees violations.
func TestPagesKeepWorkingUnderTheCSP(t *testing.T) {
	srv := testserver.Start(t)
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE tenants SET brand_color = '#16a34a' WHERE slug = 'acme'`).Error
	})
	b := newBrowser(t, 1280, 900)
	cspErrors := func(page string) {
		t.Helper()
		time.Sleep(100 * time.Millisecond)
		for _, e := range takeConsoleErrors(b) {
			if strings.Contains(e, "Content Security Policy") || strings.Contains(e, "Refused to") {
				t.Errorf("%s: %s", page, e)
			}
		}
	}
	ctx := b.step(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL("acme.localhost", "/login")), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`))); err != nil {
		t.Fatal(err)
	}
	cspErrors("/login")
	// A wrong password is answered by an htmx swap of the form.
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), "admin@acme.test"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)),
	)
	if err != nil {
		t.Fatalf("htmx sign-in error swap under the CSP: %v (console: %v)", err, b.consoleErrors())
	}
	takeConsoleErrors(b) // the 401 itself
	signIn(t, b, srv, "admin@acme.test")
	cspErrors("sign-in")
	if rgb := evalJS[string](ctx, t, `getComputedStyle(document.documentElement).getPropertyValue('--brand-rgb').trim()`); rgb != "22 163 74" {
		t.Errorf("the brand style did not apply under the CSP: --brand-rgb %q", rgb)
	}
	for _, path := range []string{"/", "/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance",
		"/dashboards/assessments", "/dashboards/team", "/me", "/admin/users", "/admin/audit", "/account/mfa", "/no-such-page"} {
		ctx := b.step(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL("acme.localhost", path)), chromedp.WaitReady(chromedp.CSS(`main`))); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		time.Sleep(300 * time.Millisecond) // deferred scripts, lazy fragments
		for _, e := range takeConsoleErrors(b) {
			if strings.Contains(e, "Content Security Policy") || strings.Contains(e, "Refused to") {
				t.Errorf("%s: %s", path, e)
			}
		}
	}
	// htmx under the CSP: a filter change swaps the dashboard body.
	ctx = b.step(t)
	open(ctx, t, b, srv, "/dashboards/completion")
	markBody(ctx, t)
	setSelect(ctx, t, "filter-range", "7d")
	waitJS(ctx, t, "body swapped under the CSP", `!document.querySelector('#dash-body[data-old]') && !!document.querySelector('#dash-body')`)
	cspErrors("filter swap")

	// The platform admin's pages too.
	p := newBrowser(t, 1280, 900)
	pctx := p.step(t)
	err = chromedp.Do(pctx,
		chromedp.Navigate(srv.URL("localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "platform@learnlens.test"),
		chromedp.SendKeys(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="app-header"]`)),
		chromedp.Navigate(srv.URL("localhost", "/platform/tenants")),
		chromedp.WaitReady(chromedp.CSS(`main`)),
	)
	if err != nil {
		t.Fatalf("platform pages: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, e := range takeConsoleErrors(p) {
		t.Errorf("platform pages: console error %s", e)
	}

	// The check sees a violation when there is one.
	ctx = b.step(t)
	evalJS[bool](ctx, t, `document.getElementById('main').insertAdjacentHTML('beforeend', '<div style="color: red">x</div>'), true`)
	time.Sleep(200 * time.Millisecond)
	seen := false
	for _, e := range takeConsoleErrors(b) {
		seen = seen || strings.Contains(e, "Content Security Policy")
	}
	if !seen {
		t.Error("an injected inline style attribute caused no CSP violation: the policy is missing or the check is blind")
	}
}
