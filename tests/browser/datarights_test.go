package browser

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAdminErasesAPersonOnAPhone works the data-rights page at 390 px: find
// a person, refuse an erasure with the wrong name, erase with the right
// one; the page never scrolls sideways, and the person is gone.
func TestAdminErasesAPersonOnAPhone(t *testing.T) {
	srv := testserver.Start(t)
	ts := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	body := `{"actor":{"mbox":"mailto:rosalind.quartermaine-featherstonehaugh@acme.test","name":"Rosalind Quartermaine-Featherstonehaugh"},
		"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/courses/c1"},"timestamp":"` + ts + `"}`
	r := srv.NewClient(t).Do(http.MethodPost, "acme.localhost", "/xapi/statements", strings.NewReader(body),
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("acme-demo-key:acme-demo-secret")),
		"X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("store a statement: %d %s", r.Status, r.Body)
	}

	b := newBrowser(t, 390, 844)
	signIn(t, b, srv, "admin@acme.test")
	ctx := b.step(t)
	visit(ctx, t, b, srv, "/admin/data?q=Quartermaine", "data-results")
	noOverflow(ctx, t, "/admin/data with search results")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="data-result"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="data-person"]`)),
	); err != nil {
		t.Fatalf("open the person: %v", err)
	}
	if got := text(ctx, t, `[data-testid="data-statements"]`); got != "1" {
		t.Errorf("the person has %q statements, want 1", got)
	}
	noOverflow(ctx, t, "/admin/data with a person")
	noConsoleErrors(t, b, "data rights page")

	// The wrong name is refused, and says what to type.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("erase-confirm"), "Rosalind"),
		chromedp.Click(chromedp.CSS(`[data-testid="erase-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#erase-error`)),
	); err != nil {
		t.Fatalf("a wrong confirmation: %v", err)
	}
	if got := text(ctx, t, `#erase-error`); !strings.Contains(got, "Rosalind Quartermaine-Featherstonehaugh") {
		t.Errorf("the refusal says %q", got)
	}
	noOverflow(ctx, t, "/admin/data with a refused erasure")
	expectOnly(t, b, "a refused erasure", "status of 400")

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("erase-confirm"), "Rosalind Quartermaine-Featherstonehaugh"),
		chromedp.ScrollIntoView(chromedp.CSS(`[data-testid="erase-submit"]`)),
	); err != nil {
		t.Fatalf("type the name: %v", err)
	}
	screenshot(t, b, "admin-data-390.png")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="erase-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="data-done"]`)),
	); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if got := text(ctx, t, `[data-testid="data-done"]`); !strings.Contains(got, "was erased: 1 statements deleted") {
		t.Errorf("after erasing: %q", got)
	}
	noOverflow(ctx, t, "/admin/data after erasing")
	screenshot(t, b, "admin-data-erased-390.png")
	noConsoleErrors(t, b, "data rights page after erasing")

	// A purge's dry run, with its report and confirmation form, fits too.
	evalJS[bool](ctx, t, `(() => { document.getElementById('purge-before').value = '`+time.Now().AddDate(0, 0, -60).Format(time.DateOnly)+`'; return true; })()`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="purge-dry-run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="purge-confirm"]`)),
	); err != nil {
		t.Fatalf("a purge's dry run: %v", err)
	}
	noOverflow(ctx, t, "/admin/data with a purge's dry run")
	screenshot(t, b, "admin-data-purge-390.png")
	noConsoleErrors(t, b, "a purge's dry run")

	var left int64
	if err := srv.DB.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM learners WHERE email LIKE 'rosalind%')
			+ (SELECT count(*) FROM xapi_statements WHERE actor_key LIKE '%rosalind%')`).Scan(&left)
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%s rows of the erased person remain", strconv.FormatInt(left, 10))
	}
}
