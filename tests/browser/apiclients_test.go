package browser

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAPIClientOnAPhone creates an API client on the credentials page at
// 390 px: the secret is shown once, works at the token endpoint, and the
// page does not scroll sideways.
func TestAPIClientOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)

	visit(ctx, t, b, srv, "/admin/credentials", "api-clients")
	noOverflow(ctx, t, "/admin/credentials with API clients")
	if !evalJS[bool](ctx, t, `document.querySelector('[data-testid="api-client-list"]').textContent.includes('acme-demo-api')`) {
		t.Error("the demo API client is not listed")
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("api-client-name"), "Phone BI"),
		chromedp.Click(chromedp.CSS(`[data-testid="scope-dashboards:read"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="api-client-create-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="client-secret"]`)),
		chromedp.ScrollIntoView(chromedp.CSS(`[data-testid="new-client-secret"]`)),
	); err != nil {
		t.Fatalf("create an API client: %v", err)
	}
	id, secret := text(ctx, t, `[data-testid="new-client-id"]`), text(ctx, t, `[data-testid="client-secret"]`)
	if len(secret) < 20 || id == "" {
		t.Fatalf("client id %q, secret %q", id, secret)
	}
	noOverflow(ctx, t, "/admin/credentials with a new API client secret")
	screenshot(t, b, "admin-api-clients-390.png")

	visit(ctx, t, b, srv, "/admin/credentials", "api-clients")
	if evalJS[bool](ctx, t, fmt.Sprintf(`document.body.innerHTML.includes(%q)`, secret)) {
		t.Error("the secret is shown again")
	}
	if !evalJS[bool](ctx, t, `document.querySelector('[data-testid="api-client-list"]').textContent.includes('Phone BI')`) {
		t.Error("the new client is not listed")
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	r := srv.NewClient(t).Do(http.MethodPost, "acme.localhost", "/api/v1/oauth/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"scope":"dashboards:read"`) {
		t.Errorf("the shown secret at the token endpoint: %d %s", r.Status, r.Body)
	}
	noConsoleErrors(t, b, "API clients")
}
