package browser

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestFilterBar drives the filter bar of issue 19 (part 2) at 1280 and
// 390 px: the shown range follows the chosen period, "data as of" comes
// with every swap, the manager picker searches (by keyboard) within what
// the viewer may see and shows the choice as a chip, phones fold the bar
// behind a "Filters" button with removable chips, and pages without
// filters show none.
func TestFilterBar(t *testing.T) {
	srv := testserver.Start(t)
	data := loadAcme(t, srv)
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)

	t.Run("admin at 1280", func(t *testing.T) {
		b := newBrowser(t, 1280, 900)
		signIn(t, b, srv, "admin@acme.test")
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/completion")
		if evalJS[bool](ctx, t, `!!document.querySelector('select[name="manager"]')`) {
			t.Error("the manager filter is still a select")
		}

		// "Last 7 days": From/To show those days, "data as of" is the new
		// response's.
		evalJS[bool](ctx, t, `(document.getElementById('as-of').dataset.old = '1') === '1'`)
		markBody(ctx, t)
		setSelect(ctx, t, "filter-range", "7d")
		waitJS(ctx, t, "body swapped after Last 7 days",
			`!document.querySelector('#dash-body[data-old]') && !document.querySelector('.htmx-request')`)
		from, to := today.AddDate(0, 0, -6).Format(time.DateOnly), today.Format(time.DateOnly)
		waitJS(ctx, t, "From/To show the 7 days", fmt.Sprintf(`document.querySelector('[data-testid="filter-from"]').value === %q
			&& document.querySelector('[data-testid="filter-to"]').value === %q`, from, to))
		if evalJS[bool](ctx, t, `!!document.getElementById('as-of').dataset.old || !/Data as of/.test(document.getElementById('as-of').textContent)`) {
			t.Error(`"data as of" was not refreshed by the filter swap`)
		}
		// Editing a date makes the period Custom, with the dates kept.
		evalJS[bool](ctx, t, fmt.Sprintf(`(() => { const f = document.querySelector('[data-testid="filter-from"]');
			f.value = %q; f.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, today.AddDate(0, 0, -13).Format(time.DateOnly)))
		waitJS(ctx, t, "custom range in the URL", fmt.Sprintf(`new URLSearchParams(location.search).get('range') === 'custom'
			&& new URLSearchParams(location.search).get('from') === %q && document.querySelector('[data-testid="filter-range"]').value === 'custom'`,
			today.AddDate(0, 0, -13).Format(time.DateOnly)))

		// The picker: typed, chosen with the keyboard, shown as a chip.
		ctx = b.step(t)
		open(ctx, t, b, srv, "/dashboards/completion")
		if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid="manager-search"]`, "Max Man")); err != nil {
			t.Fatal(err)
		}
		waitJS(ctx, t, "picker options", `[...document.querySelectorAll('[data-testid="picker-option"]')].some(o => o.dataset.name === 'Max Manager')`)
		if evalJS[string](ctx, t, `document.querySelector('[data-testid="manager-search"]').getAttribute('aria-expanded')`) != "true" {
			t.Error("the open picker does not say aria-expanded=true")
		}
		screenshot(t, b, "filters-picker-1280.png")
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
			t.Fatal(err)
		}
		waitJS(ctx, t, "active option", `document.querySelector('[data-testid="manager-search"]').getAttribute('aria-activedescendant') === 'manager-option-' + document.querySelector('[data-testid="picker-option"][aria-selected="true"]').dataset.id`)
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		manager := strconv.FormatInt(data.manager, 10)
		waitJS(ctx, t, "manager filter applied", fmt.Sprintf(`new URLSearchParams(location.search).get('manager') === %q && !document.querySelector('.htmx-request')`, manager))
		if got := text(ctx, t, `[data-testid="manager-chip"]`); !strings.Contains(got, "Max Manager's people") {
			t.Errorf("manager chip %q", got)
		}
		// Reloaded, the chip comes from the server.
		ctx = b.step(t)
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`[data-testid="manager-chip"]`)); err != nil {
			t.Fatal(err)
		}
		screenshot(t, b, "filters-chip-1280.png")
		click(ctx, t, `[data-testid="manager-chip"] [data-clear-filter]`)
		waitJS(ctx, t, "manager filter removed", `!new URLSearchParams(location.search).get('manager') && !document.querySelector('[data-testid="manager-chip"]')`)
		noConsoleErrors(t, b, "filters at 1280")
	})

	t.Run("admin at 390", func(t *testing.T) {
		b := newBrowser(t, 390, 844)
		signIn(t, b, srv, "admin@acme.test")
		ctx := b.step(t)
		open(ctx, t, b, srv, "/dashboards/completion?range=7d")
		dept := evalJS[string](ctx, t, `document.querySelector('[data-testid="filter-department"]').options[1].value`)
		open(ctx, t, b, srv, "/dashboards/completion?range=7d&department="+dept)
		if evalJS[bool](ctx, t, `getComputedStyle(document.querySelector('[data-testid="filters"]')).display !== 'none'`) {
			t.Error("at 390 px the filter bar is not folded away")
		}
		chips := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-testid="filter-chip"]')].map(c => c.textContent.replace('×', '').trim())`)
		if strings.Join(chips, "|") != "Last 7 days|"+dept {
			t.Errorf("chips %q, want Last 7 days and %s", chips, dept)
		}
		noOverflow(ctx, t, "completion with chips")
		screenshot(t, b, "filters-chips-390.png")
		noConsoleErrors(t, b, "chips at 390")
		ctx = b.step(t)
		click(ctx, t, `[data-testid="filters-toggle"]`)
		waitJS(ctx, t, "filters shown", `getComputedStyle(document.querySelector('[data-testid="filters"]')).display !== 'none'
			&& document.querySelector('[data-testid="filters-toggle"]').getAttribute('aria-expanded') === 'true'`)
		if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid="manager-search"]`, "Max")); err != nil {
			t.Fatal(err)
		}
		waitJS(ctx, t, "picker options at 390", `[...document.querySelectorAll('[data-testid="picker-option"]')].some(o => o.dataset.name === 'Max Manager')`)
		noOverflow(ctx, t, "completion with the picker open")
		screenshot(t, b, "filters-picker-390.png")
		ctx = b.step(t)
		click(ctx, t, `[data-testid="filters-toggle"]`)
		// Removing a chip removes its filter.
		click(ctx, t, `[data-testid="filter-chip"][data-param="department"] [data-clear-filter]`)
		waitJS(ctx, t, "department removed", `!new URLSearchParams(location.search).get('department') && !document.querySelector('.htmx-request')
			&& document.querySelectorAll('[data-testid="filter-chip"]').length === 1`)
		noConsoleErrors(t, b, "filters at 390")
	})

	t.Run("manager's picker stays in their part", func(t *testing.T) {
		mgr := srv.NewClient(t)
		mgr.Login("acme.localhost", "manager@acme.test")
		all := mgr.Get("acme.localhost", "/people/search?limit=50")
		if all.Status != http.StatusOK || !strings.Contains(all.Body, `data-id="`+strconv.FormatInt(data.manager, 10)+`"`) {
			t.Fatalf("the manager's own search: %d %.300s", all.Status, all.Body)
		}
		if strings.Contains(all.Body, `data-id="`+strconv.FormatInt(data.otherManager, 10)+`"`) {
			t.Error("the manager's picker offers a manager outside their part")
		}
	})

	t.Run("pages without filters show none", func(t *testing.T) {
		b := newBrowser(t, 390, 844)
		signIn(t, b, srv, "learner@acme.test")
		ctx := b.step(t)
		open(ctx, t, b, srv, "/me")
		if evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="filters"], [data-testid="filter-chips"], [data-testid="filter-department"]')`) {
			t.Error("My learning shows filters it does not use")
		}
	})

	t.Run("page size", func(t *testing.T) {
		admin := srv.NewClient(t)
		admin.Login("acme.localhost", "admin@acme.test")
		r := admin.Get("acme.localhost", "/dashboards/completion")
		if r.Status != http.StatusOK {
			t.Fatal(r.Status)
		}
		t.Logf("completion page: %d bytes for %d people", len(r.Body), data.sum.Learners)
		if strings.Contains(r.Body, "'s people</option>") {
			t.Error("the page still lists managers")
		}
	})
}
