package browser

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// numbersShownScript lists the numbers on the page that break the one
// formatter's rules (views/format): a rate or any other percentage with
// other than one decimal ("81%" beside "84.7%"), a difference of rates in
// points without one decimal, a count of 1,000 or more without thousands
// separators. It reads what people read as values: tiles and their
// changes, numeric table cells, the tree's numbers and the values printed
// on charts, not the axes' ticks or the score bands' names ("70–80%").
const numbersShownScript = `(() => {
	const sel = ['[data-testid^="kpi-"][data-testid$="-value"]', '[data-testid^="kpi-"][data-testid$="-change"]',
		'td.tabular-nums', 'dd.tabular-nums', 'svg g.font-medium text'];
	const bad = [];
	let seen = 0;
	for (const el of document.querySelectorAll(sel.join(','))) {
		const s = el.textContent.replace(/\s+/g, ' ').trim();
		if (!s) continue;
		seen++;
		const where = (el.closest('[data-testid]') || el).dataset.testid || el.tagName.toLowerCase();
		for (const m of s.matchAll(/(\d[\d,]*)(\.\d+)?\s?%/g)) {
			if (s[m.index - 1] === '–') continue;
			if (!m[2] || m[2].length !== 2) bad.push(where + ': rate "' + s + '"');
		}
		for (const m of s.matchAll(/(\d[\d,]*)(\.\d+)? pp/g)) {
			if (!m[2] || m[2].length !== 2) bad.push(where + ': points "' + s + '"');
		}
		if (!/\d{4}-\d{2}|\d:\d/.test(s)) {
			for (const m of s.matchAll(/(^|[^\d.,])(\d{4,})(?![\d,])/g)) bad.push(where + ': count without separators "' + s + '"');
		}
	}
	return JSON.stringify({seen, bad: bad.slice(0, 12)});
})()`

// tilesOutOfLineScript names the tiles whose value is not on the same
// line as the values of the tiles beside them.
const tilesOutOfLineScript = `(() => {
	const rows = new Map();
	for (const v of document.querySelectorAll('[data-testid="kpi-grid"] [data-testid^="kpi-"][data-testid$="-value"]')) {
		const tile = v.closest('[data-live]').getBoundingClientRect();
		const key = Math.round(tile.top);
		if (!rows.has(key)) rows.set(key, []);
		rows.get(key).push([v.dataset.testid, v.getBoundingClientRect().top]);
	}
	const off = [];
	for (const vs of rows.values()) {
		for (const [id, top] of vs) {
			if (Math.abs(top - vs[0][1]) > 1) off.push(id + ' ' + Math.round(top) + ' px, ' + vs[0][0] + ' ' + Math.round(vs[0][1]) + ' px');
		}
	}
	return off.join('; ');
})()`

// TestNumbersReadTheSameEverywhere is an L&D admin showing the CEO every
// dashboard, the home page, drill-downs and a learner at 1280 and 390 px:
// rates always with one decimal and %, counts with thousands separators,
// on tiles, in tables, in the tree and on charts; no page wider than a
// phone. Screenshots go to tests/artifacts/numbers-*.png.
func TestNumbersReadTheSameEverywhere(t *testing.T) {
	srv := testserver.Start(t)
	data := loadAcme(t, srv)
	course := acmeValue[int64](t, srv, `SELECT min(course_id) FROM enrollments WHERE tenant_id = (SELECT id FROM acme)`)
	requirement := acmeValue[int64](t, srv, `SELECT min(id) FROM compliance_requirements WHERE tenant_id = (SELECT id FROM acme)`)
	assessed := acmeValue[int64](t, srv, `SELECT min(course_id) FROM gold_assessment WHERE tenant_id = (SELECT id FROM acme)`)
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"completion", "/dashboards/completion"},
		{"compliance", "/dashboards/compliance"},
		{"engagement", "/dashboards/engagement"},
		{"assessments", "/dashboards/assessments"},
		{"team", "/dashboards/team"},
		{"course", "/dashboards/completion/courses/" + strconv.FormatInt(course, 10)},
		{"requirement", "/dashboards/compliance/requirements/" + strconv.FormatInt(requirement, 10)},
		{"assessment", "/dashboards/assessments/courses/" + strconv.FormatInt(assessed, 10) + "?range=12m"},
		{"learner", "/learners/" + strconv.FormatInt(data.learner, 10)},
	}
	for _, width := range []int64{1280, 390} {
		t.Run(strconv.FormatInt(width, 10), func(t *testing.T) {
			b := newBrowser(t, width, 900)
			signIn(t, b, srv, "admin@acme.test")
			for _, p := range pages {
				ctx := b.step(t)
				err := chromedp.Do(ctx, chromedp.Navigate(srv.URL("acme.localhost", p.path)),
					chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"], [data-testid="home"], [data-testid="error-page"]`)))
				if err != nil {
					t.Fatalf("open %s: %v", p.path, err)
				}
				if evalJS[bool](ctx, t, `!!document.querySelector('[data-testid="error-page"]')`) {
					t.Fatalf("%s: an error page", p.path)
				}
				var got struct {
					Seen int
					Bad  []string
				}
				raw := evalJS[string](ctx, t, numbersShownScript)
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatal(err)
				}
				if got.Seen == 0 {
					t.Errorf("%s at %d px: no numbers shown", p.path, width)
				}
				if len(got.Bad) > 0 {
					t.Errorf("%s at %d px writes numbers against the rules:\n  %s", p.path, width, strings.Join(got.Bad, "\n  "))
				}
				if width == 390 {
					noOverflow(ctx, t, p.path)
				}
				// Tiles side by side show their values on one line, however
				// many lines their labels take.
				if off := evalJS[string](ctx, t, tilesOutOfLineScript); off != "" {
					t.Errorf("%s at %d px: values of tiles side by side are not aligned: %s", p.path, width, off)
				}
				// A drill-down's first level is the teams, one per manager
				// (the tenant-wide roll-up once made it one "No manager").
				if p.name == "course" || p.name == "requirement" {
					if n := kpi(ctx, t, "drill-rows"); n < 2 {
						t.Errorf("%s at %d px: %v teams, want one per manager", p.path, width, n)
					}
				}
				screenshot(t, b, fmt.Sprintf("numbers-%s-%d.png", p.name, width))
				noConsoleErrors(t, b, p.path)
			}
		})
	}
}
