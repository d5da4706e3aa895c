package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestImportsPageOnAPhone uploads a roster through the imports page at
// 390 px: the preview shows how its columns are read, a dry run reports a
// bad row by line and column, and the apply shows a progress bar, then the
// result; the history lists the import. No page scrolls sideways.
func TestImportsPageOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)

	const people = 5000
	var roster strings.Builder
	roster.WriteString("Employee ID,Work Email,Full Name,Department,Manager ID,Favourite colour\n")
	for i := 1; i <= people; i++ {
		mgr := ""
		if i > 1 {
			mgr = "P00001"
		}
		fmt.Fprintf(&roster, "P%05d,p%d@acme.test,Person Number %d,Department %d,%s,blue\n", i, i, i, i%10, mgr)
	}
	roster.WriteString("P99999,not-an-email,Broken Row,Sales,P00001,red\n")
	file := filepath.Join(t.TempDir(), "acme-roster.csv")
	if err := os.WriteFile(file, []byte(roster.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	visit(ctx, t, b, srv, "/admin/imports", "imports")
	noOverflow(ctx, t, "/admin/imports")
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-upload-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-preview"]`)),
	); err != nil {
		t.Fatalf("upload: %v (console: %v)", err, b.consoleErrors())
	}
	mapping := text(ctx, t, `[data-testid="import-mapping"]`)
	for _, want := range []string{"employee_id", "email", "name", "department", "manager_employee_id", "ignored: not a roster column"} {
		if !strings.Contains(mapping, want) {
			t.Errorf("the mapping %q lacks %q", mapping, want)
		}
	}
	if n := evalJS[int](ctx, t, `document.querySelectorAll('[data-testid="import-preview-rows"] tbody tr').length`); n != 10 {
		t.Errorf("%d preview rows, want 10", n)
	}
	noOverflow(ctx, t, "the import's preview")

	ctx = b.step(t)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="import-dry-run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-dry-run-report"]`)),
	); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if got := text(ctx, t, `[data-testid="import-report-row"]`); !strings.Contains(got, "5002") || !strings.Contains(got, "email") || !strings.Contains(got, "not-an-email") {
		t.Errorf("the dry run's report row %q, want line 5002, column email", got)
	}
	noOverflow(ctx, t, "the import's dry run")
	screenshot(t, b, "admin-imports-390.png")

	ctx = b.step(t)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="import-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-progress-bar"]`)),
	); err != nil {
		t.Fatalf("apply: %v", err)
	}
	noOverflow(ctx, t, "the import's progress")
	screenshot(t, b, "admin-imports-progress-390.png")
	waitJS(ctx, t, "the progress bar moves", `(() => { const p = document.querySelector('[data-testid="import-progress-bar"]');
		return !p || p.value > 0; })()`)
	// The 5,000-row import takes seconds alone; in one clean clone's
	// make test, with the other suites loading the machine, it took over
	// the 30 s of a step.
	ctx = b.stepWithin(t, 90*time.Second)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-result"]`))); err != nil {
		t.Fatalf("the import's result never showed: %v", err)
	}
	if got := text(ctx, t, `[data-testid="import-result-text"]`); !strings.Contains(got, "Applied 5,000 of 5,001 rows; 1 with errors") {
		t.Errorf("result %q", got)
	}
	noOverflow(ctx, t, "the import's result")
	screenshot(t, b, "admin-imports-result-390.png")

	ctx = b.step(t)
	visit(ctx, t, b, srv, "/admin/imports", "import-history")
	if got := text(ctx, t, `[data-testid="import-row"]`); !strings.Contains(got, "acme-roster.csv") || !strings.Contains(got, "5,000") {
		t.Errorf("history row %q", got)
	}
	noOverflow(ctx, t, "/admin/imports with its history")
	// The admin's navigation, with Imports, still fits a laptop's header.
	ctx = b.step(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	visit(ctx, t, b, srv, "/admin/imports", "imports")
	noOverflow(ctx, t, "/admin/imports (at 1280 px, not 390)")
	screenshot(t, b, "admin-imports-1280.png")
	noConsoleErrors(t, b, "imports pages")
}
