package browser

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestUsageAndOffboardingOnAPhone: at 390 px, acme's admin reads the usage
// page and chooses another range; then the platform admin, on acme's page
// (suspended), is refused a deletion with the wrong address and deletes
// acme with the right one. One server and one browser.
func TestUsageAndOffboardingOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	ctx0 := context.Background()
	acme, err := models.NewTenantStore(srv.DB).BySlug(ctx0, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 9, 60, 3, 5, 2, 3000
	if _, err := generator.Populate(ctx0, pipeline.New(srv.DB), acme.ID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)

	visit(ctx, t, b, srv, "/admin/usage", "usage")
	fitsPhone(ctx, t, "/admin/usage")
	if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="usage"] svg').length`); n < 3 {
		t.Errorf("usage charts: %d drawn, want 3", n)
	}
	if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="usage-days"] tbody tr').length`); n != 30 {
		t.Errorf("usage days: %d rows, want 30", n)
	}
	// The 90-day choice.
	evalJS[bool](ctx, t, `(() => { [...document.querySelectorAll('[data-testid="usage-range"] a')].find(a => a.textContent.trim() === 'Last 90 days').click(); return true; })()`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="usage-range"] a[aria-current="page"]`))); err != nil {
		t.Fatalf("choose 90 days: %v", err)
	}
	if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="usage-days"] tbody tr').length`); n != 90 {
		t.Errorf("usage days after choosing 90: %d rows", n)
	}
	fitsPhone(ctx, t, "/admin/usage, 90 days")
	screenshot(t, b, "admin-usage-390.png")
	noConsoleErrors(t, b, "/admin/usage")

	// Offboarding, on the platform's page of suspended acme.
	err = srv.DB.Platform(ctx0, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE tenants SET status = 'suspended' WHERE id = ?`, acme.ID).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	platformSignIn(t, b, srv)
	page := "/platform/tenants/" + strconv.FormatInt(acme.ID, 10)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("localhost", page)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="offboard-delete-form"]`)),
		chromedp.SendKeys(chromedp.ID("confirm"), "globex"),
		chromedp.Click(chromedp.CSS(`[data-testid="offboard-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="offboard-error"]`)),
	); err != nil {
		t.Fatalf("a wrong confirmation: %v (console: %v)", err, b.consoleErrors())
	}
	expectOnly(t, b, "a refused deletion", "status of 422")
	fitsPhone(ctx, t, page+" (offboarding)")
	screenshot(t, b, "platform-offboard-390.png")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("confirm"), "acme.localhost"),
		chromedp.Click(chromedp.CSS(`[data-testid="offboard-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-deleted"]`)),
	); err != nil {
		t.Fatalf("delete acme: %v (console: %v)", err, b.consoleErrors())
	}
	fitsPhone(ctx, t, "tenant deleted")
	noConsoleErrors(t, b, "usage and offboarding")
	var left int64
	srv.DB.Platform(ctx0, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM tenants WHERE id = ?`, acme.ID).Scan(&left).Error
	})
	if left != 0 {
		t.Error("acme is still there")
	}
}
