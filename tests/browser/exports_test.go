package browser

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestEnrolmentsExportOnAPhone: the completion page at 390 px offers every
// enrolment as CSV and Excel without scrolling sideways, and the CSV link
// downloads the admin's whole-tenant table (one row per person and course).
func TestEnrolmentsExportOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	d := loadAcme(t, srv)
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)
	visit(ctx, t, b, srv, "/dashboards/completion", "enrolments-export-csv")
	noOverflow(ctx, t, "/dashboards/completion with the enrolments export")
	if !evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="enrolments-export-xlsx"]').offsetParent`) {
		t.Errorf("the Excel export link is not visible at 390 px")
	}
	screenshot(t, b, "completion-enrolments-export-390.png")
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.querySelector('[data-testid="enrolments-export-csv"]').href);
		return r.status + ' ' + r.headers.get('Content-Type') + '\n' + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the enrolments CSV: %v", err)
	}
	head, body, _ := strings.Cut(csv, "\n")
	if !strings.HasPrefix(head, "200 text/csv") {
		t.Fatalf("enrolments CSV: %s", head)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) < 6 || !strings.Contains(lines[5], "Course") || !strings.Contains(lines[0], "completion/enrolments") {
		t.Fatalf("enrolments CSV starts %q", lines[:min(6, len(lines))])
	}
	var enrolments int
	if err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM enrollments WHERE tenant_id = ?`, d.tenant).Scan(&enrolments).Error
	}); err != nil {
		t.Fatal(err)
	}
	if rows := len(lines) - 6; rows != enrolments || rows == 0 {
		t.Errorf("enrolments CSV: %d rows, acme has %d enrolments", rows, enrolments)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
