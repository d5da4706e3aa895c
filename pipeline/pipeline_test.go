package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/xapi"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// fixture is a tenant with a roster and a catalog, ready for statements.
type fixture struct {
	t        *testing.T
	db       *database.DB
	p        *Pipeline
	tenantID int64
}

func newFixture(t *testing.T, learners int) *fixture {
	t.Helper()
	db := testdb.New(t)
	ten, err := models.NewTenantStore(db).Create(context.Background(), models.NewTenant{Slug: "t", Name: "T", TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, p: New(db), tenantID: ten.ID}
	f.importCSV(imports.KindRoster, rosterCSV(learners, nil))
	f.importCSV(imports.KindCourses, "code,title,category,duration,required\n"+
		"SEC,Security Awareness,Compliance,30,yes\nLEAD,Leading Teams,Leadership,120,no\nGO,Go Basics,Technical,240,no\n")
	f.importCSV(imports.KindRequirements, "course,audience,due_within_days,due_from,recertify_months\nSEC,all,30,hire,12\n")
	return f
}

// rosterCSV makes n people: person 1 leads, each next reports to (i-1)/3+1;
// moved maps an employee index to a new manager index.
func rosterCSV(n int, moved map[int]int) string {
	var b strings.Builder
	b.WriteString("employee_id,email,name,department,location,manager_employee_id,hire_date\n")
	for i := 1; i <= n; i++ {
		mgr := ""
		if i > 1 {
			mgr = fmt.Sprintf("E%d", (i-2)/3+1)
		}
		dept := []string{"Sales", "Engineering", "Operations"}[i%3]
		if m, ok := moved[i]; ok {
			mgr = fmt.Sprintf("E%d", m)
			dept = "Moved"
		}
		fmt.Fprintf(&b, "E%d,p%d@t.test,Person %d,%s,London,%s,2025-0%d-01\n", i, i, i, dept, mgr, 1+i%9)
	}
	return b.String()
}

func (f *fixture) importCSV(kind imports.Kind, csv string) ImportReport {
	f.t.Helper()
	rep, err := f.p.Import(context.Background(), ImportRequest{TenantID: f.tenantID, Kind: kind, Filename: string(kind) + ".csv", Data: []byte(csv)})
	if err != nil {
		f.t.Fatalf("import %s: %v", kind, err)
	}
	if len(rep.Errors) > 0 {
		f.t.Fatalf("import %s: %v", kind, rep.Errors)
	}
	return rep
}

func (f *fixture) send(stmts ...string) StoreResult {
	f.t.Helper()
	parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(stmts, ",") + "]"))
	if err != nil {
		f.t.Fatalf("parse: %v", err)
	}
	res, err := f.p.StoreStatements(context.Background(), StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
	if err != nil {
		f.t.Fatalf("store: %v", err)
	}
	return res
}

var testAuthority = xapi.Agent{ObjectType: "Agent", AccountHomePage: "http://localhost", AccountName: "test"}

var courseIRIs = []string{"urn:learnlens:course:SEC", "urn:learnlens:course:LEAD", "urn:learnlens:course:GO", "https://lms.t.test/courses/new"}

var verbs = []string{xapi.VerbRegistered, xapi.VerbLaunched, xapi.VerbProgressed, xapi.VerbExperienced,
	xapi.VerbCompleted, xapi.VerbPassed, xapi.VerbFailed, xapi.VerbScored}

func statement(id string, learner int, verb, course string, ts time.Time, extra string) string {
	return fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:p%d@t.test"},"verb":{"id":%q},"object":{"id":%q},"timestamp":%q%s}`,
		id, learner, verb, course, ts.Format(time.RFC3339), extra)
}

// randomStatement makes a statement about a random learner and course.
func randomStatement(r *rand.Rand, learners int, base time.Time) string {
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff)
	learner := 1 + r.IntN(learners+2) // +2: actors not in the roster
	course := courseIRIs[r.IntN(len(courseIRIs))]
	ts := base.Add(-time.Duration(r.IntN(60*24)) * time.Hour)
	verb := verbs[r.IntN(len(verbs))]
	extra := ""
	switch verb {
	case xapi.VerbPassed, xapi.VerbFailed, xapi.VerbScored:
		extra = fmt.Sprintf(`,"result":{"score":{"scaled":%.2f},"success":%v}`, r.Float64(), verb != xapi.VerbFailed)
	case xapi.VerbProgressed, xapi.VerbExperienced:
		extra = fmt.Sprintf(`,"result":{"duration":"PT%dM"}`, 1+r.IntN(50))
	}
	if r.IntN(8) == 0 { // a question inside the course, answered (or not) and judged (or not)
		var result []string
		if s := r.IntN(3); s < 2 {
			result = append(result, fmt.Sprintf(`"success":%v`, s == 0))
		}
		if resp := []string{"a", "b", "c", ""}[r.IntN(4)]; resp != "" {
			result = append(result, fmt.Sprintf(`"response":%q`, resp))
		}
		return fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:p%d@t.test"},"verb":{"id":%q},"object":{"id":"%s/q%d","definition":{"type":%q,"interactionType":"choice"}},"context":{"contextActivities":{"parent":[{"id":%q}]}},"result":{%s},"timestamp":%q}`,
			id, learner, xapi.VerbAnswered, course, r.IntN(5), xapi.ActivityTypeInteraction, course, strings.Join(result, ","), ts.Format(time.RFC3339))
	}
	return statement(id, learner, verb, course, ts, extra)
}

// snapshot returns every row of the tenant's tables as JSON lines, in a
// fixed order.
func snapshot(ctx context.Context, tx pgx.Tx, tenantID int64, tables []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := tx.Query(ctx, `SELECT row_to_json(g)::text FROM `+table+` g WHERE tenant_id = $1 ORDER BY 1`, tenantID)
		if err != nil {
			return nil, err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		out[table] = lines
	}
	return out, nil
}

var errRollback = errors.New("rollback")

// silverTables are the silver tables maintained incrementally by batches.
var silverTables = []string{"enrollments", "daily_activity", "compliance_assignments"}

// allEnrollmentKeys lists every (learner, course) that has or may need an
// enrolment row: the keys of the reference recomputation below.
const allEnrollmentKeys = `
SELECT coalesce(array_agg(learner_id), '{}'), coalesce(array_agg(course_id), '{}') FROM (
    SELECT learner_id, course_id FROM learning_events WHERE tenant_id = $1
    UNION SELECT learner_id, course_id FROM enrollment_imports WHERE tenant_id = $1
    UNION SELECT a.learner_id, r.course_id FROM compliance_assignments a
        JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id WHERE a.tenant_id = $1
    UNION SELECT learner_id, course_id FROM enrollments WHERE tenant_id = $1
) k`

// assertGoldEqualsRebuild compares the incrementally maintained silver and
// gold rows with a recomputation of silver from learning events and a
// rebuild of gold, row by row, without keeping either.
func (f *fixture) assertGoldEqualsRebuild(step string) {
	f.t.Helper()
	ctx := context.Background()
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		inc, err := snapshot(ctx, tx, f.tenantID, append(GoldTables(), silverTables...))
		if err != nil {
			return err
		}
		// Attempts to pass by their definition, not by the code that keeps
		// them: a passed enrolment's attempts up to its pass.
		var wrong []string
		rows, err := tx.Query(ctx, `SELECT format('learner %s, course %s: %s, want %s', en.learner_id, en.course_id, en.attempts_to_pass, n)
			FROM enrollments en, LATERAL (SELECT CASE WHEN en.passed AND en.passed_at IS NOT NULL THEN (SELECT count(*) FROM learning_events e
				WHERE e.tenant_id = en.tenant_id AND e.course_id = en.course_id AND e.learner_id = en.learner_id
				  AND e.kind IN ('pass', 'fail', 'score') AND NOT e.voided AND e.ts <= en.passed_at) END AS n) x
			WHERE en.tenant_id = $1 AND en.attempts_to_pass IS DISTINCT FROM x.n`, f.tenantID)
		if err != nil {
			return err
		}
		if wrong, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(wrong) > 0 {
			f.t.Errorf("%s: attempts to pass differ from their definition:\n%s", step, strings.Join(wrong, "\n"))
		}
		// Silver from scratch: every enrolment and compliance completion
		// recomputed, daily activity summed from the events.
		for _, q := range []string{`DELETE FROM enrollments`, `DELETE FROM daily_activity`,
			`UPDATE compliance_assignments SET completed_at = NULL, expires_on = NULL`,
			`INSERT INTO daily_activity (tenant_id, learner_id, day, statements, duration_ms)
				SELECT tenant_id, learner_id, day, count(*), sum(duration_ms) FROM learning_events WHERE NOT voided
				GROUP BY 1, 2, 3`} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		var learners, courses []int64
		if err := tx.QueryRow(ctx, allEnrollmentKeys, f.tenantID).Scan(&learners, &courses); err != nil {
			return err
		}
		k := newKeys()
		for i := range learners {
			k.addRecompute(learners[i], courses[i])
		}
		if err := refreshSilver(ctx, tx, f.tenantID, "Europe/London", k); err != nil {
			return err
		}
		if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
			return err
		}
		full, err := snapshot(ctx, tx, f.tenantID, append(GoldTables(), silverTables...))
		if err != nil {
			return err
		}
		for table, want := range full {
			got := inc[table]
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				f.t.Errorf("%s: %s differs from a rebuild:\nincremental (%d rows):\n%s\nrebuild (%d rows):\n%s",
					step, table, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
		}
		return errRollback
	})
	if err != nil && !errors.Is(err, errRollback) {
		f.t.Fatal(err)
	}
}

// TestIncrementalGoldEqualsRebuild drives random event streams — enrolments,
// progress, completions, failures, voids, duplicates, late arrivals, roster
// moves, re-imports — and checks after each step that incrementally
// maintained gold equals a full rebuild from silver.
func TestIncrementalGoldEqualsRebuild(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			const learners = 20
			f := newFixture(t, learners)
			r := rand.New(rand.NewPCG(seed, 42))
			base := time.Now().UTC().Truncate(time.Second)
			var sent, sentIDs, pending []string
			for step := 0; step < 25; step++ {
				switch op := r.IntN(10); {
				case op < 6: // a batch of statements, some late
					var batch []string
					for i := 0; i < 1+r.IntN(30); i++ {
						batch = append(batch, randomStatement(r, learners, base))
					}
					batch, pending = append(batch, pending...), nil
					res := f.send(batch...)
					sent = append(sent, batch...)
					sentIDs = append(sentIDs, res.IDs...)
				case op == 6 && len(sentIDs) > 0: // void one, and one that has not arrived yet
					target := sentIDs[r.IntN(len(sentIDs))]
					early := randomStatement(r, learners, base)
					earlyID := early[7:43]
					f.send(fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
						xapi.VerbVoided, target),
						fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
							xapi.VerbVoided, earlyID))
					pending = append(pending, early) // arrives in a later batch, already voided
				case op == 7 && len(sent) > 0: // resend: a no-op
					res := f.send(sent[r.IntN(len(sent))])
					if res.Duplicates != 1 {
						t.Errorf("resent statement: %d duplicates, want 1", res.Duplicates)
					}
				case op == 8: // someone moves to another manager and department
					who := 2 + r.IntN(learners-1)
					f.importCSV(imports.KindRoster, rosterCSV(learners, map[int]int{who: 1 + r.IntN(who-1)}))
				default: // historical completions, imported (again)
					f.importCSV(imports.KindEnrollments, fmt.Sprintf(
						"employee_id,course,enrolled_at,completed_at,due_at,score,passed\nE%d,SEC,2025-01-05,2025-01-20,2025-02-01,80,yes\nE%d,GO,2025-03-01,,2025-04-01,,\n",
						1+r.IntN(learners), 1+r.IntN(learners)))
				}
				f.assertGoldEqualsRebuild(fmt.Sprintf("step %d", step))
				if t.Failed() {
					return
				}
			}
		})
	}
}

func TestStatementsBecomeEnrolmentsAndVoidingReverses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	res := f.send(
		statement("00000000-0000-4000-8000-000000000001", 2, xapi.VerbLaunched, courseIRIs[1], day, ""),
		statement("00000000-0000-4000-8000-000000000002", 2, xapi.VerbCompleted, courseIRIs[1], day.Add(48*time.Hour), `,"result":{"duration":"PT30M"}`),
		// a late statement, older than the others, still counts as the enrolment start
		statement("00000000-0000-4000-8000-000000000003", 2, xapi.VerbRegistered, courseIRIs[1], day.Add(-24*time.Hour), ""),
	)
	if res.Stored != 3 {
		t.Fatalf("stored %d, want 3", res.Stored)
	}
	type enr struct {
		Status             string
		EnrolledAt         time.Time
		CompletedAt        *time.Time
		Statements, Active int
	}
	read := func() (e enr) {
		f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
			tx.QueryRow(ctx, `SELECT e.status, e.enrolled_at, e.completed_at FROM enrollments e
				JOIN learners l ON l.id = e.learner_id JOIN courses c ON c.id = e.course_id
				WHERE l.employee_id = 'E2' AND c.code = 'LEAD'`).Scan(&e.Status, &e.EnrolledAt, &e.CompletedAt)
			return tx.QueryRow(ctx, `SELECT coalesce(sum(statements), 0), coalesce(sum(active_learners), 0) FROM gold_engagement_daily`).Scan(&e.Statements, &e.Active)
		})
		return e
	}
	e := read()
	if e.Status != "completed" || !e.EnrolledAt.Equal(day.Add(-24*time.Hour)) || e.CompletedAt == nil || e.Statements != 3 {
		t.Fatalf("after three statements: %+v", e)
	}
	// Voiding the completion takes it out of silver and gold.
	f.send(fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":"00000000-0000-4000-8000-000000000002"}}`, xapi.VerbVoided))
	e = read()
	if e.Status != "in_progress" || e.CompletedAt != nil || e.Statements != 2 {
		t.Fatalf("after voiding the completion: %+v", e)
	}
	// Sending the same statement again is a no-op; a different one with the same id is a conflict.
	if res := f.send(statement("00000000-0000-4000-8000-000000000001", 2, xapi.VerbLaunched, courseIRIs[1], day, "")); res.Duplicates != 1 {
		t.Errorf("same statement again: %+v", res)
	}
	parsed, _ := xapi.ParseStatements([]byte(statement("00000000-0000-4000-8000-000000000001", 3, xapi.VerbLaunched, courseIRIs[1], day, "")))
	_, err := f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
	var conflict *ConflictError
	if !errors.As(err, &conflict) {
		t.Errorf("different statement with a used id: %v, want a ConflictError", err)
	}
	f.assertGoldEqualsRebuild("end")
}

func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.send(statement("00000000-0000-4000-8000-00000000000a", 1, xapi.VerbLaunched, courseIRIs[0], day, ""))
	// The second statement of this batch conflicts, so the first must not land either.
	parsed, err := xapi.ParseStatements([]byte("[" + statement("00000000-0000-4000-8000-00000000000b", 1, xapi.VerbLaunched, courseIRIs[0], day, "") + "," +
		statement("00000000-0000-4000-8000-00000000000a", 2, xapi.VerbCompleted, courseIRIs[0], day, "") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed}); err == nil {
		t.Fatal("a batch with a conflicting statement was accepted")
	}
	var n int
	f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM xapi_statements`).Scan(&n)
	})
	if n != 1 {
		t.Errorf("%d statements stored, want 1 (the refused batch must leave nothing)", n)
	}
}

func TestRosterImportIsIdempotentAndEffectiveDated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	if rep := f.importCSV(imports.KindRoster, rosterCSV(10, nil)); rep.Changed != 0 || rep.Applied != 10 {
		t.Errorf("re-importing the same roster: %+v, want 10 applied and 0 changed", rep)
	}
	csv := strings.Replace(rosterCSV(10, map[int]int{7: 1}), "hire_date\n", "hire_date,effective_date\n", 1)
	csv = strings.ReplaceAll(csv, "-01\n", "-01,2026-06-01\n")
	if rep := f.importCSV(imports.KindRoster, csv); rep.Changed != 1 {
		t.Errorf("moving one person: %d changed, want 1", rep.Changed)
	}
	ctx := context.Background()
	var history []string
	f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT h.valid_from::text || '→' || h.valid_to::text || ' ' || h.department
			FROM learner_history h JOIN learners l ON l.id = h.learner_id WHERE l.employee_id = 'E7' ORDER BY h.valid_from`)
		history, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		return nil
	})
	want := []string{"-infinity→2026-06-01 Engineering", "2026-06-01→infinity Moved"}
	if strings.Join(history, "|") != strings.Join(want, "|") {
		t.Errorf("history of E7: %v, want %v", history, want)
	}
	// A roster without department or manager columns keeps both.
	if rep := f.importCSV(imports.KindRoster, "employee_id,email,name\nE7,p7@t.test,Person Seven\n"); rep.Changed != 1 {
		t.Errorf("renaming one person: %d changed, want 1", rep.Changed)
	}
	var dept, mgr string
	f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT l.department, m.employee_id FROM learners l JOIN learners m ON m.id = l.manager_id
			WHERE l.employee_id = 'E7'`).Scan(&dept, &mgr)
	})
	if dept != "Moved" || mgr != "E1" {
		t.Errorf("a partial roster reset E7 to department %q, manager %q", dept, mgr)
	}
	// A subtree query: E1 leads everyone.
	var under int
	f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM org_closure c JOIN learners m ON m.id = c.manager_id WHERE m.employee_id = 'E1'`).Scan(&under)
	})
	if under != 9 {
		t.Errorf("E1 has %d people under them, want 9", under)
	}
}

func TestAllOrNothingImportRefusesAFileWithABadRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	csv := "employee_id,course,enrolled_at,completed_at\nE1,SEC,2025-01-01,2025-01-10\nE99,SEC,2025-01-01,\n"
	rep, err := f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindEnrollments, Filename: "e.csv",
		Data: []byte(csv), Mode: ModeAllOrNothing})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != "refused" || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 || rep.Errors[0].Column != "employee_id" {
		t.Fatalf("report: %+v", rep)
	}
	var n int
	f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM enrollment_imports`).Scan(&n)
	})
	if n != 0 {
		t.Errorf("refused import left %d rows", n)
	}
	rep, err = f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindEnrollments, Filename: "e.csv", Data: []byte(csv)})
	if err != nil || rep.Outcome != "applied" || rep.Applied != 1 {
		t.Fatalf("valid-rows import: %+v %v", rep, err)
	}
}

func TestDataAsOfMovesWithEveryStoredBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	asOf := func() (at *time.Time) {
		f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT max(as_of) FROM gold_freshness`).Scan(&at)
		})
		return
	}
	before := time.Now().Add(-time.Second)
	// A statement about an agent maps to no learning event, yet the data
	// is as of it.
	f.send(fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"Agent","mbox":"mailto:p2@t.test"}}`, xapi.VerbExperienced))
	if at := asOf(); at == nil || at.Before(before) {
		t.Fatalf("data as of %v after storing a statement at %v", at, before)
	}
}

// TestConcurrentBatchesOfOneTenantStayExact sends batches about the same
// learners and courses from several goroutines at once, with voids, and
// checks silver and gold against a recomputation afterwards.
func TestConcurrentBatchesOfOneTenantStayExact(t *testing.T) {
	t.Parallel()
	const learners = 12
	f := newFixture(t, learners)
	base := time.Now().UTC().Truncate(time.Second)
	ctx := context.Background()
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func(w int) {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var mine []string
			for i := 0; i < 8; i++ {
				var batch []string
				for j := 0; j < 25; j++ {
					batch = append(batch, randomStatement(r, learners, base))
				}
				if len(mine) > 0 && r.IntN(2) == 0 {
					batch = append(batch, fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
						xapi.VerbVoided, mine[r.IntN(len(mine))]))
				}
				parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(batch, ",") + "]"))
				if err != nil {
					errs <- err
					return
				}
				res, err := f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
				if err != nil {
					errs <- err
					return
				}
				mine = append(mine, res.IDs[:25]...)
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 4; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f.assertGoldEqualsRebuild("after concurrent batches")
}

// TestEventsStoredBeforeTheLockStayExact races what the learning events
// stored before the tenant's lock depend on: voids of statements another
// client is sending at the same moment, and roster moves that change the
// org data events are stamped with.
func TestEventsStoredBeforeTheLockStayExact(t *testing.T) {
	t.Parallel()
	const learners, workers, rounds = 12, 4, 6
	f := newFixture(t, learners)
	// Every learner and course is known first, so the batches take the
	// early path.
	base := time.Now().UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(5, 5))
	var warm []string
	for i := 1; i <= learners+2; i++ {
		for _, c := range courseIRIs {
			warm = append(warm, statement(fmt.Sprintf("%08x-0000-4000-8000-000000000001", i*16+len(warm)), i, xapi.VerbLaunched, c, base, ""))
		}
	}
	f.send(warm...)
	batches := make([][][]string, workers)
	for w := range batches {
		batches[w] = make([][]string, rounds)
		for round := range batches[w] {
			for j := 0; j < 25; j++ { // today: the day a roster move takes effect
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff)
				batches[w][round] = append(batches[w][round], statement(id, 1+r.IntN(learners+2), verbs[r.IntN(len(verbs))],
					courseIRIs[r.IntN(len(courseIRIs))], base, ""))
			}
		}
	}
	ctx := context.Background()
	errs := make(chan error, workers+1)
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			<-start
			for round := 0; round < rounds; round++ {
				batch := batches[w][round]
				// Void two statements the next client sends now.
				for _, target := range batches[(w+1)%workers][round][:2] {
					batch = append(batch, fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
						xapi.VerbVoided, target[7:43]))
				}
				parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(batch, ",") + "]"))
				if err == nil {
					_, err = f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	go func() {
		<-start
		for i := 0; i < 3; i++ {
			who := 2 + i*3
			if _, err := f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindRoster, Filename: "roster.csv",
				Data: []byte(rosterCSV(learners, map[int]int{who: 1}))}); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	close(start)
	for w := 0; w < workers+1; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f.assertGoldEqualsRebuild("after racing voids and roster moves")
	var counted, stale int
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM learning_events e JOIN xapi_voided v
			ON v.tenant_id = e.tenant_id AND v.statement_id = e.statement_id WHERE NOT e.voided`).Scan(&counted); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM learning_events e LEFT JOIN LATERAL (
			SELECT manager_id, department FROM learner_history h
			WHERE h.tenant_id = e.tenant_id AND h.learner_id = e.learner_id AND h.valid_from <= e.day AND e.day < h.valid_to
			ORDER BY h.valid_from DESC LIMIT 1) h ON true
			WHERE e.manager_at IS DISTINCT FROM h.manager_id OR e.department_at <> coalesce(h.department, '')`).Scan(&stale)
	})
	if err != nil {
		t.Fatal(err)
	}
	if counted != 0 {
		t.Errorf("%d voided statements still count as learning events", counted)
	}
	if stale != 0 {
		t.Errorf("%d learning events carry org data other than their learner's on their day", stale)
	}
}

// TestTheSameBatchSentTwiceAtOnceIsStoredOnce races two clients sending the
// same new statements: one stores them, the other finds them stored.
func TestTheSameBatchSentTwiceAtOnceIsStoredOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 5; round++ {
		var batch []string
		for i := 0; i < 200; i++ {
			batch = append(batch, randomStatement(r, 5, time.Now().UTC()))
		}
		parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(batch, ",") + "]"))
		if err != nil {
			t.Fatal(err)
		}
		results := make(chan StoreResult, 2)
		errs := make(chan error, 2)
		for w := 0; w < 2; w++ {
			go func() {
				copies := make([]xapi.Statement, len(parsed))
				for i := range parsed {
					copies[i], _ = xapi.ParseStatement([]byte(batch[i]))
				}
				res, err := f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: copies})
				results <- res
				errs <- err
			}()
		}
		stored := 0
		for w := 0; w < 2; w++ {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			stored += (<-results).Stored
		}
		if stored != 200 {
			t.Errorf("round %d: %d statements stored by the two clients together, want 200", round, stored)
		}
	}
	f.assertGoldEqualsRebuild("after racing duplicates")
}

// TestBronzeKeepsAgentKeysWithQuotesAndBackslashes checks the array
// literals bronze's key lists travel in: quotes, backslashes, commas and
// braces in an account name come back as sent.
func TestBronzeKeepsAgentKeysWithQuotesAndBackslashes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	name := `odd "name" \with, {braces}`
	doc := fmt.Sprintf(`{"actor":{"account":{"homePage":"https://lms.t.test","name":%q}},"verb":{"id":%q},"object":{"id":"urn:learnlens:course:SEC"},
		"context":{"instructor":{"mbox":"mailto:p1@t.test"}}}`, name, xapi.VerbLaunched)
	parsed, err := xapi.ParseStatement([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res := f.send(doc)
	ctx := context.Background()
	var agents, related []string
	err = f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT agent_keys, related_agent_keys FROM xapi_statements WHERE id = $1`, res.IDs[0]).Scan(&agents, &related)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := parsed.AgentKeys(false); strings.Join(agents, "|") != strings.Join(want, "|") {
		t.Errorf("agent_keys = %q, want %q", agents, want)
	}
	// The related keys also hold the authority the LRS adds.
	if !slices.Contains(related, "account:https://lms.t.test|"+name) || !slices.Contains(related, "mbox:mailto:p1@t.test") {
		t.Errorf("related_agent_keys = %q, want the actor's and the instructor's among them", related)
	}
}

// TestImportTellsProgressAndStaysExact checks that an import reports the
// rows it has applied every 1,000 rows, that its report names its bronze
// row, and that a roster sent in slices leaves gold equal to a rebuild.
func TestImportTellsProgressAndStaysExact(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	var told []int
	rep, err := f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindRoster, Filename: "big.csv",
		Data: []byte(rosterCSV(2500, map[int]int{7: 1})), Progress: func(n int) { told = append(told, n) }})
	if err != nil || rep.Applied != 2500 || rep.FileID == 0 {
		t.Fatalf("roster: %+v %v", rep, err)
	}
	if fmt.Sprint(told) != "[1000 2000]" {
		t.Errorf("roster progress %v, want [1000 2000]", told)
	}
	f.assertGoldEqualsRebuild("after a roster applied in slices")

	var b strings.Builder
	b.WriteString("employee_id,course,enrolled_at,completed_at\n")
	for i := 1; i <= 1200; i++ {
		fmt.Fprintf(&b, "E%d,SEC,2025-02-01,2025-02-%02d\n", i, 1+i%27)
	}
	told = nil
	rep, err = f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindEnrollments, Filename: "e.csv",
		Data: []byte(b.String()), DryRun: true, Progress: func(n int) { told = append(told, n) }})
	if err != nil || rep.Applied != 1200 || rep.FileID != 0 || fmt.Sprint(told) != "[1000]" {
		t.Fatalf("dry run of enrolments: %+v %v, progress %v", rep, err, told)
	}
}

// TestEveryLearnerHasAnActivePeopleRow checks that people who were never
// active, or are no longer, keep a row of gold_active_people without days
// (the inactive people's list reads them from there): rostered people
// without statements, a new person whose only statement arrives voided,
// and one whose only statement is voided later.
func TestEveryLearnerHasAnActivePeopleRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(time.Second)
	void := func(id string) string {
		return fmt.Sprintf(`{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`, xapi.VerbVoided, id)
	}
	f.send(void("00000000-0000-4000-8000-00000000a001"))
	f.send(statement("00000000-0000-4000-8000-00000000a001", 9, xapi.VerbLaunched, courseIRIs[0], day, ""))
	f.send(statement("00000000-0000-4000-8000-00000000a002", 8, xapi.VerbLaunched, courseIRIs[1], day, ""))
	f.send(void("00000000-0000-4000-8000-00000000a002"))
	var people, dayless int
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE p.last_day IS NULL AND p.first_day IS NULL)
			FROM learners l JOIN gold_active_people p ON p.tenant_id = l.tenant_id AND p.learner_id = l.id
			WHERE l.tenant_id = $1 AND l.email IN ('p8@t.test', 'p9@t.test', 'p2@t.test', 'p3@t.test')`, f.tenantID).Scan(&people, &dayless)
	})
	if err != nil {
		t.Fatal(err)
	}
	if people != 4 || dayless != 4 {
		t.Errorf("%d of the 4 people never or no longer active have a row of gold_active_people, %d without days; want 4 and 4", people, dayless)
	}
	f.assertGoldEqualsRebuild("people never active")
}
