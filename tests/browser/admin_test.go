package browser

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestTenantAdminPagesOnAPhone works the tenant admin's pages at 390 px:
// change a role, create a credential and see its secret once, change the
// brand colour and see it in the shell; no page scrolls sideways (nor, at
// 1280 px, the header with the admin's navigation).
func TestTenantAdminPagesOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)

	// Users: the learner becomes a manager.
	visit(ctx, t, b, srv, "/admin/users", "users")
	noOverflow(ctx, t, "/admin/users")
	const learnerCard = `[...document.querySelectorAll('[data-testid="user-row"]')].find(c => c.textContent.includes('learner@acme.test'))`
	evalJS[bool](ctx, t, `(() => { const c = `+learnerCard+`; c.querySelector('[data-testid="role-select"]').value = 'manager';
		c.querySelector('[data-testid="role-save"]').click(); return true; })()`)
	waitJS(ctx, t, "role changed", `(`+learnerCard+`).querySelector('[data-testid="user-role"]').textContent.trim() === 'Manager'`)
	noOverflow(ctx, t, "/admin/users after a role change")
	screenshot(t, b, "admin-users-390.png")

	// Credentials: the secret is shown once.
	visit(ctx, t, b, srv, "/admin/credentials", "credentials")
	noOverflow(ctx, t, "/admin/credentials")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("credential-name"), "Browser LMS"),
		chromedp.Click(chromedp.CSS(`[data-testid="credential-create-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="secret"]`)),
	); err != nil {
		t.Fatalf("create a credential: %v", err)
	}
	secret := text(ctx, t, `[data-testid="secret"]`)
	if len(secret) < 20 {
		t.Fatalf("secret %q", secret)
	}
	noOverflow(ctx, t, "/admin/credentials with a new secret")
	screenshot(t, b, "admin-credentials-390.png")
	visit(ctx, t, b, srv, "/admin/credentials", "credentials")
	if evalJS[bool](ctx, t, fmt.Sprintf(`document.body.innerHTML.includes(%q)`, secret)) {
		t.Error("the secret is shown again")
	}
	if !evalJS[bool](ctx, t, `document.body.textContent.includes('Browser LMS')`) {
		t.Error("the new credential is not listed")
	}

	// Settings: a new brand colour reaches the shell and the theme colour.
	visit(ctx, t, b, srv, "/admin/settings", "settings")
	noOverflow(ctx, t, "/admin/settings")
	evalJS[bool](ctx, t, `(() => { const f = document.getElementById('brand_color'); f.value = '#0f766e';
		f.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
	if got := evalJS[string](ctx, t, `document.getElementById('brand_color_picker').value`); got != "#0f766e" {
		t.Errorf("the colour picker follows the field: %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="settings-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="saved"]`)),
	); err != nil {
		t.Fatalf("save the settings: %v", err)
	}
	if got := evalJS[string](ctx, t, `getComputedStyle(document.querySelector('[data-testid="org-name"] span')).backgroundColor`); got != "rgb(15, 118, 110)" {
		t.Errorf("the shell's brand mark is %s, want rgb(15, 118, 110)", got)
	}
	if got := evalJS[string](ctx, t, `document.querySelector('meta[name="theme-color"]').content`); got != "#0f766e" {
		t.Errorf("theme-color %q, want #0f766e", got)
	}
	noOverflow(ctx, t, "/admin/settings after saving")
	screenshot(t, b, "admin-settings-390.png")

	// The admin's navigation, with these pages, still fits the wide header.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	visit(ctx, t, b, srv, "/admin/users", "users")
	noOverflow(ctx, t, "/admin/users (at 1280 px, not 390)")
	noConsoleErrors(t, b, "tenant admin pages")
}

// visit loads path on acme's host and waits for the element with testID.
func visit(ctx context.Context, t *testing.T, b *browser, srv *testserver.Server, path, testID string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("acme.localhost", path)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="`+testID+`"]`)),
	)
	if err != nil {
		t.Fatalf("open %s: %v (console: %v)", path, err, b.consoleErrors())
	}
}
