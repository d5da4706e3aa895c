package browser

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// fitsPhone checks, on top of noOverflow, the 390 px rule as issue 11
// states it.
func fitsPhone(ctx context.Context, t *testing.T, page string) {
	t.Helper()
	noOverflow(ctx, t, page)
	if w := evalJS[int](ctx, t, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("%s: scrollWidth %d > 390", page, w)
	}
}

// platformSignIn signs the demo platform admin in on the bare domain.
func platformSignIn(t *testing.T, b *browser, srv *testserver.Server) {
	t.Helper()
	err := chromedp.Do(b.step(t),
		chromedp.Navigate(srv.URL("localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "platform@learnlens.test"),
		chromedp.SendKeys(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"], [data-testid="tenants"]`)),
	)
	if err != nil {
		t.Fatalf("platform sign-in: %v (console: %v)", err, b.consoleErrors())
	}
}

// TestOnboardATenantOnAPhone: at 390 px, the platform admin creates a
// tenant, opens support access to another (banner, end), and the new
// tenant's first admin follows the invitation link to a signed-in session
// on the tenant's host. One server and one browser: chromium is slow to
// start on a loaded machine.
func TestOnboardATenantOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 390, 844)
	platformSignIn(t, b, srv)
	ctx := b.step(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("localhost", "/platform/tenants")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-acme"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	fitsPhone(ctx, t, "/platform/tenants")
	screenshot(t, b, "platform-tenants-390.png")

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("localhost", "/platform/tenants/new")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	fitsPhone(ctx, t, "/platform/tenants/new")
	screenshot(t, b, "platform-new-tenant-390.png")
	// A domain of another tenant is refused next to its field.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("name"), "Initech"),
		chromedp.SendKeys(chromedp.ID("slug"), "initech"),
		chromedp.SendKeys(chromedp.ID("email_domains"), "initech.test, acme.test"),
		chromedp.SetValue(chromedp.ID("time_zone"), "Europe/Berlin"),
		chromedp.SendKeys(chromedp.ID("admin_email"), "boss@initech.test"),
		chromedp.Click(chromedp.CSS(`[data-testid="tenant-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="email_domains-error"]`)),
	)
	if err != nil {
		t.Fatalf("refused domain: %v", err)
	}
	if msg := text(ctx, t, `[data-testid="email_domains-error"]`); !strings.Contains(msg, "acme.test") {
		t.Errorf("domain error %q does not name acme.test", msg)
	}
	fitsPhone(ctx, t, "/platform/tenants/new with an error")
	expectOnly(t, b, "refused domain", "status of 409")
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("email_domains"), "initech.test"),
		chromedp.Click(chromedp.CSS(`[data-testid="tenant-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="invite-link"]`)),
	)
	if err != nil {
		t.Fatalf("create: %v (console: %v)", err, b.consoleErrors())
	}
	fitsPhone(ctx, t, "tenant created")
	link := evalJS[string](ctx, t, `document.querySelector('[data-testid="invite-link"]').value`)
	if !strings.HasPrefix(link, srv.URL("initech.localhost", "/invite/")) {
		t.Fatalf("invitation link %q", link)
	}

	supportAccess(t, b, srv)

	ctx = b.step(t)

	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="link-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	fitsPhone(ctx, t, "invitation page")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("name"), "Bill Lumbergh"),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough passphrase"),
		chromedp.Click(chromedp.CSS(`[data-testid="link-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`)),
	)
	if err != nil {
		t.Fatalf("accept: %v (console: %v)", err, b.consoleErrors())
	}
	if url, _ := chromedp.Run(ctx, chromedp.Location()); url != srv.URL("initech.localhost", "/") {
		t.Errorf("after accepting: at %q", url)
	}
	role := evalJS[string](ctx, t, `document.querySelector('[data-testid="user-role"]').textContent`)
	org := text(ctx, t, `[data-testid="org-name"]`)
	if role != "Admin" || strings.TrimSpace(org) != "Initech" {
		t.Errorf("signed in as %q of %q, want Admin of Initech", role, org)
	}
	noConsoleErrors(t, b, "onboarding")
}

// supportAccess: support access opened from the platform's tenant page
// (the platform admin is signed in) shows its banner on the tenant's
// dashboards at 390 px and ends with its button.
func supportAccess(t *testing.T, b *browser, srv *testserver.Server) {
	t.Helper()
	var id int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&id).Error
	})
	ctx := b.step(t)
	page := "/platform/tenants/" + strconv.FormatInt(id, 10)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("localhost", page)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="support-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	fitsPhone(ctx, t, page)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="support-start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="support-banner"]`)),
	)
	if err != nil {
		t.Fatalf("open support access: %v (console: %v)", err, b.consoleErrors())
	}
	if url, _ := chromedp.Run(ctx, chromedp.Location()); url != srv.URL("acme.localhost", "/") {
		t.Errorf("support access at %q", url)
	}
	open(ctx, t, b, srv, "/dashboards/completion")
	banner := text(ctx, t, `[data-testid="support-banner"]`)
	if !strings.Contains(banner, "platform@learnlens.test") || !strings.Contains(banner, "read-only") {
		t.Errorf("banner %q", banner)
	}
	fitsPhone(ctx, t, "dashboard under support access")
	screenshot(t, b, "support-banner-390.png")
	// Clicked from script: the live dashboard may swap nodes between
	// chromedp's lookup of a node and its click ("Could not find node").
	click := `(id => { document.querySelector('[data-testid="' + id + '"]').click(); return true; })`
	err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="support-end"]`)))
	if err == nil {
		evalJS[bool](ctx, t, click+`("support-end")`)
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="support-ended"]`)))
	}
	if err == nil {
		evalJS[bool](ctx, t, click+`("support-back")`)
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="edit-tenant-page"]`)))
	}
	if err != nil {
		t.Fatalf("end support access: %v (console: %v)", err, b.consoleErrors())
	}
	noConsoleErrors(t, b, "support access")
}
