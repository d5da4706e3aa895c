package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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
