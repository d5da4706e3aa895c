package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAdminCreatesARequirementAndFiltersTheAuditLogOnAPhone works the
// requirements page at 390 px: the preview follows the form (whom the
// requirement applies to, who would be compliant or overdue at once) before anything is
// saved, the saved requirement is listed with those numbers, and the audit
// log, filtered to requirement changes, shows its entry.
func TestAdminCreatesARequirementAndFiltersTheAuditLogOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	seedRoster(t, srv)
	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)

	visit(ctx, t, b, srv, "/admin/requirements", "requirements")
	noOverflow(ctx, t, "/admin/requirements, empty")
	click(ctx, t, `[data-testid="requirement-new"]`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="requirement-form"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the preview asks for a course", `document.querySelector('[data-testid="requirement-preview-box"]').textContent.includes('Choose a course')`)

	// Fire safety for everyone, due 30 days from hire: three people, one
	// compliant (Ben completed it) and nobody overdue at once: all three
	// were hired before the requirement, so they are due 30 days after
	// it is assigned (docs/DASHBOARDS.md, "Compliance dates").
	courseID := evalJS[string](ctx, t, `[...document.querySelectorAll('[data-testid="requirement-course-select"] option')].find(o => o.textContent.includes('Fire safety')).value`)
	setSelect(ctx, t, "requirement-course-select", courseID)
	setSelect(ctx, t, "requirement-due-from", "hire")
	waitJS(ctx, t, "preview for everyone", `(() => { const p = document.querySelector('[data-testid="preview-people"]');
		return p && p.textContent === '3' && document.querySelector('[data-testid="preview-overdue"]').textContent === '0' &&
			document.querySelector('[data-testid="preview-compliant"]').textContent === '1'; })()`)

	// Narrowed to Sales: two people, still one compliant.
	setSelect(ctx, t, "requirement-department", "Sales")
	waitJS(ctx, t, "preview for Sales", `(() => { const p = document.querySelector('[data-testid="preview-people"]');
		return p && p.textContent === '2' && document.querySelector('[data-testid="preview-overdue"]').textContent === '0' &&
			document.querySelector('[data-testid="preview-compliant"]').textContent === '1'; })()`)
	noOverflow(ctx, t, "/admin/requirements/new with a preview")
	screenshot(t, b, "admin-requirements-390.png")

	click(ctx, t, `[data-testid="requirement-save"]`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="requirement-row"]`))); err != nil {
		t.Fatalf("the list after saving: %v", err)
	}
	if got := text(ctx, t, `[data-testid="requirement-people"]`); got != "2" {
		t.Errorf("the saved requirement applies to %s people, the preview said 2", got)
	}
	if got := text(ctx, t, `[data-testid="requirement-overdue"]`); got != "0" {
		t.Errorf("the saved requirement has %s overdue, the preview said 0", got)
	}
	if got := text(ctx, t, `[data-testid="requirement-audience"]`); got != "Department: Sales" {
		t.Errorf("audience %q", got)
	}
	noOverflow(ctx, t, "/admin/requirements with a requirement")

	// The audit log, filtered to requirement changes.
	visit(ctx, t, b, srv, "/admin/audit", "audit")
	setSelect(ctx, t, "audit-action", "requirement.created")
	// The filtered page is the first with a Clear button.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="audit-apply"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-clear"]`))); err != nil {
		t.Fatalf("filter the audit log: %v", err)
	}
	waitJS(ctx, t, "filtered log", `location.search.includes('action=requirement.created') &&
		document.querySelectorAll('[data-testid="audit-item"]').length === 1`)
	if got := text(ctx, t, `[data-testid="audit-item-action"]`); got != "requirement.created" {
		t.Errorf("filtered row %q", got)
	}
	if href := evalJS[string](ctx, t, `document.querySelector('[data-testid="audit-export"]').getAttribute('href')`); !strings.Contains(href, "action=requirement.created") {
		t.Errorf("the CSV link %q does not carry the filter", href)
	}
	noOverflow(ctx, t, "/admin/audit filtered")
	screenshot(t, b, "admin-audit-390.png")
	noConsoleErrors(t, b, "requirements and audit pages")
}

// seedRoster gives acme a catalog and a roster: two Sales people hired in
// 2020 (one completed Fire safety), one Support person hired five days ago.
func seedRoster(t *testing.T, srv *testserver.Server) {
	t.Helper()
	var tenant int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&tenant).Error
	})
	p := pipeline.New(srv.DB)
	for _, f := range []struct {
		kind imports.Kind
		data string
	}{
		{imports.KindCourses, "code,title\nSAFE,Fire safety\n"},
		{imports.KindRoster, "employee_id,email,name,department,location,hire_date\n" +
			"B1,b1@acme.test,Bea One,Sales,London,2020-01-06\nB2,b2@acme.test,Ben Two,Sales,Leeds,2020-02-03\n" +
			"B3,b3@acme.test,Bo Three,Support,London," + time.Now().AddDate(0, 0, -5).Format(time.DateOnly) + "\n"},
		{imports.KindEnrollments, "employee_id,course,completed_at\nB2,SAFE,2021-03-01\n"},
	} {
		rep, err := p.Import(context.Background(), pipeline.ImportRequest{TenantID: tenant, Kind: f.kind, Filename: "seed.csv",
			Data: []byte(f.data), Mode: pipeline.ModeAllOrNothing})
		if err != nil || len(rep.Errors) > 0 {
			t.Fatalf("import %s: %v %+v", f.kind, err, rep)
		}
	}
}
