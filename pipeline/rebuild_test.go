package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// TestTenantWideSilverRebuildEqualsIncremental drives random streams
// (statements, voids of stored and of not yet arrived statements, roster
// moves, imported history) and checks that the tenant-wide, set-based
// rebuild of silver and gold (rebuildSilver, rebuildGold: what the bulk
// load and `silver rebuild` run) gives exactly the rows the incremental
// path keeps.
func TestTenantWideSilverRebuildEqualsIncremental(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			const learners = 20
			f := newFixture(t, learners)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 7))
			base := time.Now().UTC().Truncate(time.Second)
			var ids, pending []string
			for step := 0; step < 12; step++ {
				switch op := r.IntN(8); {
				case op < 5:
					var batch []string
					for range 1 + r.IntN(40) {
						batch = append(batch, randomStatement(r, learners, base))
					}
					batch, pending = append(batch, pending...), nil
					ids = append(ids, f.send(batch...).IDs...)
				case op == 5 && len(ids) > 0:
					early := randomStatement(r, learners, base)
					void := `{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`
					f.send(fmt.Sprintf(void, xapi.VerbVoided, ids[r.IntN(len(ids))]), fmt.Sprintf(void, xapi.VerbVoided, early[7:43]))
					pending = append(pending, early)
				case op == 6:
					who := 2 + r.IntN(learners-1)
					f.importCSV(imports.KindRoster, rosterCSV(learners, map[int]int{who: 1 + r.IntN(who-1)}))
				default:
					f.importCSV(imports.KindEnrollments, fmt.Sprintf(
						"employee_id,course,enrolled_at,completed_at,due_at,score,passed\nE%d,SEC,2025-01-05,2025-01-20,2025-02-01,80,yes\n",
						1+r.IntN(learners)))
				}
				err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
					tables := append(GoldTables(), silverTables...)
					inc, err := snapshot(ctx, tx, f.tenantID, tables)
					if err != nil {
						return err
					}
					// Start from nothing the rebuild must produce.
					if _, err := tx.Exec(ctx, `UPDATE compliance_assignments SET completed_at = NULL, expires_on = NULL`); err != nil {
						return err
					}
					if err := rebuildSilver(ctx, tx, f.tenantID, "Europe/London"); err != nil {
						return err
					}
					if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
						return err
					}
					full, err := snapshot(ctx, tx, f.tenantID, tables)
					if err != nil {
						return err
					}
					for _, table := range tables {
						if got, want := strings.Join(full[table], "\n"), strings.Join(inc[table], "\n"); got != want {
							t.Errorf("step %d: %s: the tenant-wide rebuild gives\n%s\nthe incremental path\n%s", step, table, got, want)
						}
					}
					return errRollback
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Fatal(err)
				}
				if t.Failed() {
					return
				}
			}
			// The command's entry point commits a rebuild as a new version.
			times, err := f.p.Rebuild(ctx, f.tenantID, true)
			if err != nil || times.Silver <= 0 || times.Gold <= 0 {
				t.Fatalf("Rebuild: %+v, %v", times, err)
			}
			f.assertGoldEqualsRebuild("after a committed rebuild")
		})
	}
}

// TestGoldRebuildWritesOnlyDifferences checks the rebuilds that write only
// what differs (replaceRowsSQL): on gold that is right it changes no row,
// and on gold that is wrong in every way (rows missing, rows extra, values
// off, learners moved to other groups) it leaves exactly the rows a
// rebuild into empty tables gives; so does silver's over stale daily
// activity and enrolments.
func TestGoldRebuildWritesOnlyDifferences(t *testing.T) {
	t.Parallel()
	const learners = 20
	f := newFixture(t, learners)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 11))
	base := time.Now().UTC().Truncate(time.Second)
	for range 4 {
		var batch []string
		for range 60 {
			batch = append(batch, randomStatement(r, learners, base))
		}
		f.send(batch...)
	}
	f.importCSV(imports.KindEnrollments, "employee_id,course,enrolled_at,completed_at,due_at,score,passed\n"+
		"E3,GO,2025-01-05,,2025-02-01,,\nE4,LEAD,2025-01-05,2025-01-20,,90,yes\n")
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		// Gold is right: the rebuild reads it and writes nothing.
		if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
			return err
		}
		for _, table := range GoldTables() {
			var written, rows int
			if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE xmin = pg_current_xact_id()::xid), count(*) FROM `+table+
				` WHERE tenant_id = $1`, f.tenantID).Scan(&written, &rows); err != nil {
				return err
			}
			if written != 0 {
				t.Errorf("%s: the rebuild of right gold rewrote %d of %d rows", table, written, rows)
			}
		}
		// Silver changes behind gold's back: events and enrolments go or
		// change, a third of the people change department.
		for _, q := range []string{
			`DELETE FROM learning_events WHERE tenant_id = $1 AND statement_id::text < '4'`,
			`UPDATE learning_events SET duration_ms = duration_ms + 60000 WHERE tenant_id = $1 AND statement_id::text > 'c'`,
			`DELETE FROM daily_activity WHERE tenant_id = $1 AND learner_id % 4 = 0`,
			`UPDATE daily_activity SET statements = statements + 1 WHERE tenant_id = $1 AND learner_id % 4 = 1`,
			`UPDATE enrollments SET status = 'completed', completed_at = enrolled_at + interval '3 days'
				WHERE tenant_id = $1 AND status <> 'completed' AND learner_id % 2 = 0`,
			`DELETE FROM enrollments WHERE tenant_id = $1 AND learner_id % 5 = 0`,
			`UPDATE learners SET department = department || ' (moved)' WHERE tenant_id = $1 AND id % 3 = 0`,
		} {
			if _, err := tx.Exec(ctx, q, f.tenantID); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		// The rows a rebuild into empty tables gives.
		if _, err := tx.Exec(ctx, `SAVEPOINT empty`); err != nil {
			return err
		}
		for _, table := range GoldTables() {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1`, f.tenantID); err != nil {
				return err
			}
		}
		if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
			return err
		}
		want, err := snapshot(ctx, tx, f.tenantID, GoldTables())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT empty`); err != nil {
			return err
		}
		stale, err := snapshot(ctx, tx, f.tenantID, GoldTables())
		if err != nil {
			return err
		}
		if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
			return err
		}
		got, err := snapshot(ctx, tx, f.tenantID, GoldTables())
		if err != nil {
			return err
		}
		differed := 0
		for _, table := range GoldTables() {
			if strings.Join(stale[table], "\n") != strings.Join(want[table], "\n") {
				differed++
			}
			if g, w := strings.Join(got[table], "\n"), strings.Join(want[table], "\n"); g != w {
				t.Errorf("%s: rebuilt over stale rows\n%s\nrebuilt into an empty table\n%s", table, g, w)
			}
		}
		// The changes must have reached most tables for this to test
		// anything (gold_team_people, for one, counts people only).
		if differed < len(GoldTables())/2 {
			t.Errorf("only %d of %d gold tables were stale", differed, len(GoldTables()))
		}
		// Silver's rebuild writes by differences too: over the stale
		// daily activity and enrolments it leaves what it leaves in empty
		// tables.
		silver := []string{"daily_activity", "enrollments"}
		if _, err := tx.Exec(ctx, `SAVEPOINT empty_silver; DELETE FROM daily_activity; DELETE FROM enrollments`); err != nil {
			return err
		}
		if err := rebuildSilver(ctx, tx, f.tenantID, "Europe/London"); err != nil {
			return err
		}
		if want, err = snapshot(ctx, tx, f.tenantID, silver); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT empty_silver`); err != nil {
			return err
		}
		if stale, err = snapshot(ctx, tx, f.tenantID, silver); err != nil {
			return err
		}
		if err := rebuildSilver(ctx, tx, f.tenantID, "Europe/London"); err != nil {
			return err
		}
		if got, err = snapshot(ctx, tx, f.tenantID, silver); err != nil {
			return err
		}
		for _, table := range silver {
			if strings.Join(stale[table], "\n") == strings.Join(want[table], "\n") {
				t.Errorf("%s was not stale", table)
			}
			if g, w := strings.Join(got[table], "\n"), strings.Join(want[table], "\n"); g != w {
				t.Errorf("%s: rebuilt over stale rows\n%s\nrebuilt into an empty table\n%s", table, g, w)
			}
		}
		return errRollback
	})
	if err != nil && !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
}

// TestTwoConnectionRebuildRacingIngestStaysExact races the two-connection
// gold rebuild (Rebuild without silver: the command's) with statement
// batches, over gold made wrong in every way a rebuild repairs — in the
// tables of events the second connection computes (rows off, missing and
// extra) and in the others — each time under the tenant's lock, as a bug
// would have left it. The second connection's differences are written,
// the batches' deltas land before or after whole rebuilds, and gold ends
// up exactly what a rebuild from silver gives.
func TestTwoConnectionRebuildRacingIngestStaysExact(t *testing.T) {
	t.Parallel()
	const learners, workers, batches = 12, 3, 6
	f := newFixture(t, learners)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(17, 60))
	var warm []string
	for range 120 {
		warm = append(warm, randomStatement(r, learners, base))
	}
	f.send(warm...)
	spoil := func() error {
		return f.p.inTenant(ctx, f.tenantID, func(tx pgx.Tx, _ string) error {
			for _, q := range []string{
				`UPDATE gold_course_activity_daily SET statements = statements + 2 WHERE tenant_id = $1 AND extract(day FROM day)::int % 2 = 0`,
				`DELETE FROM gold_activity_hourly WHERE tenant_id = $1 AND hour % 3 = 0`,
				`UPDATE gold_question_daily SET correct = correct + 1 WHERE tenant_id = $1`,
				`INSERT INTO gold_assessment (tenant_id, course_id, manager_id, department, location, bucket, day, attempts, passed, failed)
					SELECT tenant_id, course_id, manager_id, department, location, bucket, '1999-01-01', 5, 5, 0
					FROM gold_assessment WHERE tenant_id = $1 LIMIT 3 ON CONFLICT DO NOTHING`,
				`UPDATE gold_assessment_tenant SET attempts = attempts + 1 WHERE tenant_id = $1`,
				`UPDATE gold_course_completion SET enrolled = enrolled + 1 WHERE tenant_id = $1`,
				`DELETE FROM gold_engagement_daily WHERE tenant_id = $1 AND extract(day FROM day)::int % 2 = 1`,
			} {
				if _, err := tx.Exec(ctx, q, f.tenantID); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		})
	}
	errs := make(chan error, workers+1)
	start := make(chan struct{})
	for w := range workers {
		go func() {
			<-start
			r := rand.New(rand.NewPCG(uint64(w), 61))
			for range batches {
				var batch []string
				for range 30 {
					batch = append(batch, randomStatement(r, learners, base))
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
		}()
	}
	var written int64
	var second bool
	go func() {
		<-start
		for range 4 {
			if err := spoil(); err != nil {
				errs <- err
				return
			}
			times, err := f.p.Rebuild(ctx, f.tenantID, false)
			if err != nil {
				errs <- err
				return
			}
			for _, s := range times.Steps {
				var table string
				var n int64
				if _, err := fmt.Sscanf(s.What, "%s %d rows written", &table, &n); err == nil {
					written += n
				}
				second = second || s.Second
			}
		}
		errs <- nil
	}()
	close(start)
	for range workers + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if !second || written == 0 {
		t.Fatalf("the rebuilds ran a second connection: %v; it wrote %d rows of differences (want some)", second, written)
	}
	f.assertGoldEqualsRebuild("after two-connection rebuilds racing batches")
}

// TestWithTenantInlinesOnlyTheTenant: the second connection's COPY takes
// no parameters, so the tenant's id is written into the query, and a
// query with any other parameter is refused.
func TestWithTenantInlinesOnlyTheTenant(t *testing.T) {
	if got := withTenant("SELECT $1 FROM t WHERE tenant_id = $1", 42); got != "SELECT 42 FROM t WHERE tenant_id = 42" {
		t.Errorf("withTenant: %q", got)
	}
	for _, q := range []string{"SELECT $2", "SELECT $10 WHERE a = $1"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("withTenant(%q) did not refuse it", q)
				}
			}()
			withTenant(q, 42)
		}()
	}
}

// TestTwoConnectionRebuildIsAllOrNothing: when writing the second
// connection's differences fails, the whole rebuild rolls back — the
// tables the first connection had already rebuilt too — and gold and its
// version are as they were.
func TestTwoConnectionRebuildIsAllOrNothing(t *testing.T) {
	t.Parallel()
	const learners = 12
	f := newFixture(t, learners)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 60))
	base := time.Now().UTC().Truncate(time.Second)
	var batch []string
	for range 150 {
		batch = append(batch, randomStatement(r, learners, base))
	}
	f.send(batch...)
	err := f.p.inTenant(ctx, f.tenantID, func(tx pgx.Tx, _ string) error {
		if _, err := tx.Exec(ctx, `DELETE FROM gold_activity_hourly WHERE tenant_id = $1 AND hour % 2 = 0`, f.tenantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE gold_course_completion SET enrolled = enrolled + 1 WHERE tenant_id = $1`, f.tenantID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func() (map[string][]string, int64) {
		var rows map[string][]string
		var version int64
		err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) (err error) {
			if rows, err = snapshot(ctx, tx, f.tenantID, GoldTables()); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM gold_freshness`).Scan(&version)
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows, version
	}
	before, version := read()
	admin := testdb.Superuser(t, f.db)
	if _, err := admin.Exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
		CREATE TRIGGER refuse BEFORE INSERT ON gold_activity_hourly FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Rebuild(ctx, f.tenantID, false); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Rebuild with the hourly table refusing rows: %v, want its refusal", err)
	}
	after, versionAfter := read()
	if versionAfter != version {
		t.Errorf("gold version %d → %d after a failed rebuild", version, versionAfter)
	}
	for _, table := range GoldTables() {
		if g, w := strings.Join(after[table], "\n"), strings.Join(before[table], "\n"); g != w {
			t.Errorf("%s changed in a failed rebuild:\n%s\nwas\n%s", table, g, w)
		}
	}
	if _, err := admin.Exec(`DROP TRIGGER refuse ON gold_activity_hourly`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Rebuild(ctx, f.tenantID, false); err != nil {
		t.Fatal(err)
	}
	f.assertGoldEqualsRebuild("after the rebuild that could write")
}
