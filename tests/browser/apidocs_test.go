package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAPIDocsRenderTheDocumentFromThisOrigin opens /api/docs: Swagger UI,
// vendored, shows every operation of the OpenAPI document, loads nothing
// from another origin and breaks no rule of the page's CSP.
func TestAPIDocsRenderTheDocumentFromThisOrigin(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 1280, 900)
	ctx := b.step(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL("acme.localhost", "/api/docs"))); err != nil {
		t.Fatal(err)
	}
	// Swagger UI's bundle (1.7 MB of JavaScript) parses and renders
	// the document in the browser: on a loaded machine that alone can take
	// longer than waitJS's 10 s.
	waitJSFor(ctx, t, "operations listed", `document.querySelectorAll('.opblock').length > 25`, 25*time.Second)
	ctx = b.step(t)
	if !evalJS[bool](ctx, t, `[...document.querySelectorAll('.opblock-summary-path')].some(e => e.textContent.includes('/api/v1/dashboards/completion/kpis'))`) {
		t.Error("the completion KPIs operation is not listed")
	}
	if foreign := evalJS[[]string](ctx, t, `performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))`); len(foreign) > 0 {
		t.Errorf("loaded from elsewhere: %v", foreign)
	}
	// One operation opened shows its response schema.
	evalJS[bool](ctx, t, `(() => { [...document.querySelectorAll('.opblock-summary')]
		.find(e => e.querySelector('.opblock-summary-path').textContent.trim() === '/api/v1/dashboards/completion/kpis')
		.querySelector('.opblock-summary-control').click(); return true; })()`)
	waitJS(ctx, t, "the operation opens with its responses", `document.querySelector('.opblock.is-open .responses-wrapper') !== null`)
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	screenshot(t, b, "api-docs.png")
}
