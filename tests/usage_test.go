package tests

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/handlers"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestTenantUsageForItsAdmins checks /admin/usage, its CSV and
// /api/v1/usage: statements and active learners per day equal gold's,
// sign-ins, failures and exports equal the audit log's, bad ranges get 400
// and only the tenant's admins reach them.
func TestTenantUsageForItsAdmins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testserver.Start(t)
	acmeID := tenantID(t, srv, "acme")
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 7, 80, 3, 6, 2, 4000
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), acmeID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	// Today: one failed sign-in, then two sign-ins of the admin and one of
	// the analyst.
	bad := srv.NewClient(t)
	if r := bad.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {"not the password"}}); r.Status == http.StatusSeeOther {
		t.Fatal("a wrong password signed in")
	}
	a := srv.NewClient(t)
	a.Login(acme, "admin@acme.test")
	srv.NewClient(t).Login(acme, "admin@acme.test")
	analyst := srv.NewClient(t)
	analyst.Login(acme, "analyst@acme.test")

	loc, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(loc).Format(time.DateOnly)
	from := time.Now().In(loc).AddDate(0, 0, -89).Format(time.DateOnly)
	r := a.Get(acme, "/api/v1/usage?from="+from+"&to="+today)
	var u handlers.UsageJSON
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &u) != nil {
		t.Fatalf("usage JSON: %d %.300s", r.Status, r.Body)
	}
	if len(u.Days) != 90 || u.Days[0].Date != from || u.Days[89].Date != today || u.TimeZone != "Europe/London" {
		t.Fatalf("days: %d from %v", len(u.Days), u.Days[:1])
	}
	// Statements and active learners, against gold read directly.
	var goldStatements, goldActive, distinct int64
	srv.DB.PlatformTx(ctx, func(tx pgx.Tx) error {
		tx.QueryRow(ctx, `SELECT coalesce(sum(statements), 0), coalesce(sum(active_learners), 0) FROM gold_engagement_daily_tenant
			WHERE tenant_id = $1 AND day BETWEEN $2 AND $3`, acmeID, from, today).Scan(&goldStatements, &goldActive)
		return tx.QueryRow(ctx, `SELECT count(DISTINCT learner_id) FROM daily_activity WHERE tenant_id = $1 AND day BETWEEN $2 AND $3`,
			acmeID, from, today).Scan(&distinct)
	})
	var statements, active int64
	for _, d := range u.Days {
		statements, active = statements+d.Statements, active+d.ActiveLearners
	}
	if goldStatements == 0 || statements != goldStatements || active != goldActive || u.ActiveLearners != distinct || distinct == 0 {
		t.Errorf("statements %d (gold %d), active learners %d (gold %d), distinct %d (daily_activity %d)",
			statements, goldStatements, active, goldActive, u.ActiveLearners, distinct)
	}
	var weekly int64
	for _, w := range u.Weeks {
		weekly = max(weekly, w.ActiveLearners)
	}
	if len(u.Weeks) < 13 || weekly == 0 || weekly > distinct {
		t.Errorf("weeks: %d, the most active %d of %d", len(u.Weeks), weekly, distinct)
	}
	last := u.Days[89]
	if last.SignIns != 3 || last.FailedSignIns != 1 || last.SignedInUsers != 2 || u.SignedInUsers != 2 {
		t.Errorf("today's sign-ins: %+v, distinct users %d; want 3 sign-ins of 2 users and 1 failure", last, u.SignedInUsers)
	}

	// The CSV download, audited as an export, and counted next time.
	// It starts, like every export, with what it is and when its data is
	// from.
	r = a.Get(acme, "/admin/usage.csv?from="+from+"&to="+today)
	cr := csv.NewReader(strings.NewReader(r.Body))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if r.Status != http.StatusOK || err != nil || len(recs) != 95 {
		t.Fatalf("CSV: %d %v %d rows", r.Status, err, len(recs))
	}
	for i, prefix := range []string{"LearnLens export: ", "Data as of: ", "Range: " + from + " to " + today, "Exported: "} {
		if len(recs[i]) != 1 || !strings.HasPrefix(recs[i][0], prefix) {
			t.Errorf("CSV line %d is %q, want %q…", i+1, recs[i], prefix)
		}
	}
	if recs = recs[4:]; recs[0][1] != "statements" || recs[90][0] != today {
		t.Fatalf("CSV: header %v, last day %v", recs[0], recs[90])
	}
	if got := auditActions(t, srv, "acme")[models.AuditExport]; got != 1 {
		t.Errorf("exports in acme's log: %d, want the CSV's 1", got)
	}
	json.Unmarshal([]byte(a.Get(acme, "/api/v1/usage").Body), &u)
	if len(u.Days) != 30 || u.Days[29].Exports != 1 {
		t.Errorf("the default range: %d days, today's exports %+v", len(u.Days), u.Days[len(u.Days)-1])
	}

	// The page: KPIs, charts, tables and the range form.
	r = a.Get(acme, "/admin/usage?from="+from+"&to="+today)
	mustContain(t, "usage page", r.Body, `data-testid="usage"`, "kpi-usage-statements", "usage-statements", "usage-days", "usage-weeks",
		"usage-csv", `name="from"`, "Last 90 days")
	mustContain(t, "home", a.Get(acme, "/").Body, "card-usage", "nav-usage")
	// A range before anything happened: the week table says nobody was there.
	r = a.Get(acme, "/admin/usage?from=2020-01-06&to=2020-01-19")
	if r.Status != http.StatusOK {
		t.Fatalf("an empty range: %d", r.Status)
	}
	mustContain(t, "an empty range", r.Body, `data-testid="usage-weeks"`, "Nobody was active or signed in.")

	// Bad ranges: 400 saying what is wrong, on the page and the API.
	for q, says := range map[string]string{
		"from=2026-13-01":                  "from must be a date",
		"to=yesterday":                     "to must be a date",
		"from=2026-05-02&to=2026-05-01":    "from must not be after to",
		"from=2024-01-01&to=2026-01-01":    "at most 366 days",
		"from=2026-05-01%00&to=2026-05-02": "",
	} {
		for _, path := range []string{"/admin/usage", "/admin/usage.csv", "/api/v1/usage"} {
			r := a.Get(acme, path+"?"+q)
			if r.Status != http.StatusBadRequest || !strings.Contains(strings.ToLower(r.Body), says) {
				t.Errorf("%s?%s: %d %.200s, want 400 saying %q", path, q, r.Status, r.Body, says)
			}
		}
	}
	// Only the tenant's admins.
	for _, path := range []string{"/admin/usage", "/admin/usage.csv", "/api/v1/usage"} {
		if r := analyst.Get(acme, path); r.Status != http.StatusForbidden {
			t.Errorf("an analyst's %s: %d, want 403", path, r.Status)
		}
	}
}
