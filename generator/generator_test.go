package generator_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/xapi"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// fixedNow is the "now" of every test: the data must not depend on the clock.
var fixedNow = time.Date(2026, 11, 2, 15, 30, 0, 0, time.UTC)

func smallConfig() generator.Config {
	return generator.Config{
		Seed: 42, Learners: 120, Depth: 4, Courses: 10, Required: 3, Statements: 4000, Months: 12,
		EmailDomain: "small.test", TimeZone: "Europe/London", Now: fixedNow,
		ManagerEmail: "manager@small.test", LearnerEmail: "learner@small.test",
	}
}

// populate creates a tenant in db and fills it.
func populate(t *testing.T, db *database.DB, cfg generator.Config) (int64, generator.Summary) {
	t.Helper()
	ctx := context.Background()
	tenant, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "small", Name: "Small Co", TimeZone: cfg.TimeZone})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := generator.Populate(ctx, pipeline.New(db), tenant.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("populated %+v in %v", sum, time.Since(start).Round(time.Millisecond))
	return tenant.ID, sum
}

// count runs a count query as the platform with the tenant id as ?.
func count(t *testing.T, db *database.DB, tenantID int64, query string) int {
	t.Helper()
	var n int
	err := db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(query, tenantID).Scan(&n).Error
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func statementIDs(t *testing.T, db *database.DB, tenantID int64) []string {
	t.Helper()
	var ids []string
	err := db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id::text FROM xapi_statements WHERE tenant_id = ? ORDER BY id`, tenantID).Scan(&ids).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestPopulate fills two fresh databases from the same config, checks the
// silver data of one and that both got the same statements.
func TestPopulate(t *testing.T) {
	cfg := smallConfig()
	type run struct {
		db     *database.DB
		tenant int64
		sum    generator.Summary
	}
	var runs [2]run
	for i := range runs {
		runs[i].db = testdb.New(t) // outlives the subtests
	}
	t.Run("populate", func(t *testing.T) {
		for i := range runs {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				runs[i].tenant, runs[i].sum = populate(t, runs[i].db, cfg)
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	db, id, sum := runs[0].db, runs[0].tenant, runs[0].sum

	t.Run("roster", func(t *testing.T) {
		if n := count(t, db, id, `SELECT count(*) FROM learners WHERE tenant_id = ? AND rostered`); n != cfg.Learners || sum.Learners != n {
			t.Errorf("%d rostered learners (summary %d), want %d", n, sum.Learners, cfg.Learners)
		}
		// Every actor matched a rostered learner, by email or by employee id.
		if n := count(t, db, id, `SELECT count(*) FROM learners WHERE tenant_id = ? AND NOT rostered`); n != 0 {
			t.Errorf("%d learners created from statements that did not match the roster", n)
		}
		if n := count(t, db, id, `SELECT count(*) FROM learner_identities WHERE tenant_id = ? AND actor_key LIKE 'account:%'`); n == 0 {
			t.Error("no learner identified by an account")
		}
		if n := count(t, db, id, `SELECT count(*) FROM learners WHERE tenant_id = ? AND status = 'inactive'`); n == 0 || n > cfg.Learners/10 {
			t.Errorf("%d inactive learners, want a few", n)
		}
		if n := count(t, db, id, `SELECT count(*) FROM learner_history WHERE tenant_id = ? AND valid_from > '-infinity'`); n == 0 {
			t.Error("no team moves in the roster history")
		}
		if n := count(t, db, id, `SELECT count(*) FROM org_closure WHERE tenant_id = ? AND dotted`); n == 0 {
			t.Error("no dotted reporting lines")
		}
		if n := count(t, db, id, `SELECT count(DISTINCT manager_id) FROM learners WHERE tenant_id = ? AND manager_id IS NOT NULL`); n != sum.Managers {
			t.Errorf("%d managers, summary says %d", n, sum.Managers)
		}
	})

	t.Run("catalog", func(t *testing.T) {
		// Modules and questions resolve to their parent course: no course
		// is created from statements.
		if n := count(t, db, id, `SELECT count(*) FROM courses WHERE tenant_id = ?`); n != cfg.Courses || sum.Courses != n {
			t.Errorf("%d courses (summary %d), want %d", n, sum.Courses, cfg.Courses)
		}
		if n := count(t, db, id, `SELECT count(*) FROM courses WHERE tenant_id = ? AND required`); n != cfg.Required {
			t.Errorf("%d required courses, want %d", n, cfg.Required)
		}
		if n := count(t, db, id, `SELECT count(*) FROM compliance_requirements WHERE tenant_id = ?`); n != cfg.Required {
			t.Errorf("%d requirements, want %d", n, cfg.Required)
		}
		if n := count(t, db, id, `SELECT count(*) FROM compliance_requirements WHERE tenant_id = ? AND NOT audience ? 'all'`); n != 1 {
			t.Errorf("%d requirements limited to a department, want 1", n)
		}
		if n := count(t, db, id, `SELECT count(*) FROM learning_events WHERE tenant_id = ? AND kind = 'interaction'`); n == 0 {
			t.Error("no question-level events")
		}
	})

	t.Run("manager", func(t *testing.T) {
		n := count(t, db, id, `SELECT count(*) FROM org_closure o JOIN learners m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
			WHERE o.tenant_id = ? AND m.email = 'manager@small.test'`)
		if n < 20 || n > 100 || n != sum.ManagerSubtree {
			t.Errorf("the manager has %d people below them (summary %d), want 20–100", n, sum.ManagerSubtree)
		}
		if n := count(t, db, id, `SELECT count(*) FROM org_closure o JOIN learners m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id
			JOIN learners l ON l.tenant_id = o.tenant_id AND l.id = o.learner_id
			WHERE o.tenant_id = ? AND m.email = 'manager@small.test' AND l.email = 'learner@small.test'`); n != 1 {
			t.Error("the named learner is not in the named manager's team")
		}
	})

	t.Run("learner", func(t *testing.T) {
		const learner = `(SELECT id FROM learners WHERE tenant_id = en.tenant_id AND email = 'learner@small.test')`
		if n := count(t, db, id, `SELECT count(*) FROM learners WHERE tenant_id = ? AND email = 'learner@small.test' AND manager_id IS NOT NULL
			AND id NOT IN (SELECT manager_id FROM learners WHERE manager_id IS NOT NULL)`); n != 1 {
			t.Error("the named learner is missing or manages people")
		}
		if n := count(t, db, id, `SELECT count(*) FROM enrollments en WHERE tenant_id = ? AND learner_id = `+learner+` AND status = 'completed'`); n < 3 {
			t.Errorf("the learner completed %d courses, want several", n)
		}
		if n := count(t, db, id, `SELECT count(*) FROM enrollments en WHERE tenant_id = ? AND learner_id = `+learner+` AND status = 'in_progress'`); n < 1 {
			t.Error("the learner has no course in progress")
		}
		if n := count(t, db, id, `SELECT count(*) FROM enrollments en JOIN courses c ON c.tenant_id = en.tenant_id AND c.id = en.course_id
			WHERE en.tenant_id = ? AND en.learner_id = `+learner+` AND c.required AND en.status = 'completed'`); n < 1 {
			t.Error("the learner completed no required course")
		}
		if n := count(t, db, id, `SELECT count(*) FROM learning_events f JOIN learning_events p
				ON p.tenant_id = f.tenant_id AND p.learner_id = f.learner_id AND p.course_id = f.course_id
			JOIN learners l ON l.tenant_id = f.tenant_id AND l.id = f.learner_id
			WHERE f.tenant_id = ? AND l.email = 'learner@small.test' AND f.kind = 'fail' AND p.kind = 'pass'
			  AND f.ts < p.ts AND NOT f.voided AND NOT p.voided`); n < 1 {
			t.Error("the learner has no assessment failed and then passed")
		}
	})

	t.Run("due and compliance", func(t *testing.T) {
		if n := count(t, db, id, `SELECT count(*) FROM enrollments WHERE tenant_id = ? AND due_at < current_date AND status <> 'completed'`); n == 0 {
			t.Error("no overdue enrolments")
		}
		if n := count(t, db, id, `SELECT count(*) FROM compliance_assignments WHERE tenant_id = ?
			AND (expires_on < current_date OR completed_at IS NULL AND due_on < current_date)`); n == 0 {
			t.Error("no compliance assignment expired or overdue")
		}
		if n := count(t, db, id, `SELECT count(*) FROM compliance_assignments WHERE tenant_id = ? AND completed_at IS NOT NULL`); n == 0 {
			t.Error("no compliance assignment completed")
		}
		if n := count(t, db, id, `SELECT count(*) FROM enrollment_imports WHERE tenant_id = ?`); n != sum.EnrollmentRows || n == 0 {
			t.Errorf("%d imported enrolments, summary says %d", n, sum.EnrollmentRows)
		}
	})

	t.Run("statements", func(t *testing.T) {
		n := count(t, db, id, `SELECT count(*) FROM xapi_statements WHERE tenant_id = ?`)
		if n != sum.Statements || n < cfg.Statements*9/10 || n > cfg.Statements*11/10 {
			t.Errorf("%d statements stored (summary %d), want %d ± 10%%", n, sum.Statements, cfg.Statements)
		}
		if v := count(t, db, id, `SELECT count(*) FROM xapi_voided WHERE tenant_id = ?`); v == 0 || v != sum.Voided {
			t.Errorf("%d voided statements, summary says %d", v, sum.Voided)
		}
		if v := count(t, db, id, `SELECT count(*) FROM learning_events WHERE tenant_id = ? AND voided`); v == 0 {
			t.Error("no voided learning events")
		}
		// Statements stored in a later batch than a statement with a later
		// timestamp: they arrived late.
		if late := count(t, db, id, `WITH s AS (SELECT ts, stored FROM xapi_statements WHERE tenant_id = ? AND voids IS NULL),
			b AS (SELECT stored, max(top) OVER (ORDER BY stored ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
				FROM (SELECT stored, max(ts) AS top FROM s GROUP BY stored) g)
			SELECT count(*) FROM s JOIN b USING (stored) WHERE s.ts < b.before`); late == 0 {
			t.Error("no statement arrived late")
		}
		weekday := count(t, db, id, `SELECT count(*) FROM xapi_statements WHERE tenant_id = ?
			AND extract(isodow FROM ts AT TIME ZONE 'Europe/London') <= 5`)
		if weekday < n*85/100 {
			t.Errorf("%d of %d statements on weekdays, want most", weekday, n)
		}
		if n := count(t, db, id, `SELECT count(*) FROM gold_course_completion WHERE tenant_id = ?`); n == 0 {
			t.Error("gold is empty")
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		if runs[0].sum != runs[1].sum {
			t.Errorf("summaries differ: %+v and %+v", runs[0].sum, runs[1].sum)
		}
		a, b := statementIDs(t, runs[0].db, runs[0].tenant), statementIDs(t, runs[1].db, runs[1].tenant)
		if len(a) != len(b) || !slices.Equal(a, b) {
			t.Errorf("the two databases hold different statements (%d and %d)", len(a), len(b))
		}
	})
}

// TestPopulateTwiceIsHarmless sends the same data again: every statement is
// a duplicate and the imports change nothing.
func TestPopulateTwiceIsHarmless(t *testing.T) {
	cfg := smallConfig()
	cfg.Learners, cfg.Statements, cfg.Courses, cfg.Depth = 40, 600, 8, 3
	db := testdb.New(t)
	id, sum := populate(t, db, cfg)
	if _, err := generator.Populate(context.Background(), pipeline.New(db), id, cfg); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, id, `SELECT count(*) FROM xapi_statements WHERE tenant_id = ?`); n != sum.Statements {
		t.Errorf("%d statements after populating twice, want %d", n, sum.Statements)
	}
	if n := count(t, db, id, `SELECT count(*) FROM learners WHERE tenant_id = ?`); n != cfg.Learners {
		t.Errorf("%d learners after populating twice, want %d", n, cfg.Learners)
	}
}

// TestGenerateIsDeterministic compares two generations byte for byte, and
// checks that another seed or another now gives other data.
func TestGenerateIsDeterministic(t *testing.T) {
	cfg := smallConfig()
	a, err := generator.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generator.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != len(b.Files) || a.Batches() != b.Batches() || a.Summary != b.Summary {
		t.Fatalf("different shapes: %+v vs %+v", a.Summary, b.Summary)
	}
	for i := range a.Files {
		if a.Files[i].Name != b.Files[i].Name || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Errorf("file %s differs", a.Files[i].Name)
		}
	}
	for i := range a.Batches() {
		x, err := a.Batch(i)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := b.Batch(i)
		if !bytes.Equal(x, y) {
			t.Fatalf("batch %d differs", i)
		}
	}

	other := cfg
	other.Seed++
	c, err := generator.Generate(other)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Files[1].Data, c.Files[1].Data) {
		t.Error("another seed gave the same roster")
	}
	later := cfg
	later.Now = cfg.Now.Add(24 * time.Hour)
	d, err := generator.Generate(later)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := a.Batch(0)
	y, _ := d.Batch(0)
	if bytes.Equal(x, y) {
		t.Error("another now gave the same statements")
	}
}

// TestGenerateShape checks a mid-size tenant without a database: every file
// and batch is valid, the totals are on target and the rhythm is a working
// week.
func TestGenerateShape(t *testing.T) {
	cfg := generator.Globex(fixedNow)
	ds, err := generator.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := ds.Summary
	if s.Learners != cfg.Learners || s.Courses != cfg.Courses || s.Required != cfg.Required {
		t.Errorf("summary %+v does not match config", s)
	}
	if s.Statements < cfg.Statements*9/10 || s.Statements > cfg.Statements*11/10 {
		t.Errorf("%d statements, want %d ± 10%%", s.Statements, cfg.Statements)
	}
	if s.ManagerSubtree < 20 || s.ManagerSubtree > 100 {
		t.Errorf("manager subtree %d, want 20–100", s.ManagerSubtree)
	}
	if s.Managers < cfg.Learners/20 || s.Managers > cfg.Learners/3 {
		t.Errorf("%d managers of %d people", s.Managers, s.Learners)
	}
	for _, f := range ds.Files {
		res, err := imports.Parse(f.Kind, f.Name, f.Data)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if len(res.Errors) > 0 {
			t.Errorf("%s: %d bad rows, first %v", f.Name, len(res.Errors), res.Errors[0])
		}
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	var n, weekend, night, lunch, morning int
	verbs := map[string]int{}
	start := fixedNow.AddDate(0, -cfg.Months, -1)
	for i := range ds.Batches() {
		body, err := ds.Batch(i)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := xapi.ParseStatements(body)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		for _, st := range ss {
			n++
			verbs[st.VerbID]++
			if st.Timestamp.After(fixedNow) || st.Timestamp.Before(start) {
				t.Fatalf("statement %s at %v, outside the history", st.ID, st.Timestamp)
			}
			lt := st.Timestamp.In(loc)
			switch lt.Weekday() {
			case time.Saturday, time.Sunday:
				weekend++
			}
			switch h := lt.Hour(); {
			case h < 6:
				night++
			case h == 12:
				lunch++
			case h == 10:
				morning++
			}
		}
	}
	if n != s.Statements {
		t.Errorf("%d statements in the batches, summary says %d", n, s.Statements)
	}
	if weekend > n/10 {
		t.Errorf("%d of %d statements at weekends", weekend, n)
	}
	if night > n/50 {
		t.Errorf("%d of %d statements between midnight and 6", night, n)
	}
	if lunch >= morning {
		t.Errorf("no lunchtime dip: %d at 12h, %d at 10h", lunch, morning)
	}
	for _, v := range []string{xapi.VerbRegistered, xapi.VerbLaunched, xapi.VerbExperienced, xapi.VerbProgressed,
		xapi.VerbAnswered, xapi.VerbPassed, xapi.VerbFailed, xapi.VerbCompleted, xapi.VerbVoided} {
		if verbs[v] == 0 {
			t.Errorf("no statement with verb %s", v)
		}
	}
	if verbs[xapi.VerbFailed]*3 > verbs[xapi.VerbPassed] {
		t.Errorf("%d failed and %d passed assessments: too many failures", verbs[xapi.VerbFailed], verbs[xapi.VerbPassed])
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []generator.Config{
		{Learners: 100, Depth: 1},
		{Learners: 5, Depth: 5},
		{Learners: 100, Required: 20},
		{Learners: 100, Courses: 3, Required: 5},
		{Learners: 100, Courses: 1000},
		{Learners: 100, TimeZone: "Mars/Olympus"},
		{Learners: 100, ManagerEmail: "x@a.test", LearnerEmail: "X@a.test"},
		{Learners: 100, ManagerEmail: "not-an-email"},
	} {
		if _, err := generator.Generate(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
