package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// versionWatch records what a fixture's writes announce: the OnCommit
// hook's calls (with the version the database showed a fresh transaction
// at that moment) and the learnlens_gold notifications.
type versionWatch struct {
	f      *fixture
	listen *pgx.Conn

	mu    sync.Mutex
	hooks []hookCall
}

type hookCall struct{ tenant, version, visible int64 }

func watchVersions(f *fixture) *versionWatch {
	f.t.Helper()
	ctx := context.Background()
	conn, err := f.db.Connect(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `LISTEN learnlens_gold`); err != nil {
		f.t.Fatal(err)
	}
	w := &versionWatch{f: f, listen: conn}
	f.p.OnCommit(func(tenant, version int64) {
		// Committed means another transaction sees it now.
		w.mu.Lock()
		defer w.mu.Unlock()
		w.hooks = append(w.hooks, hookCall{tenant, version, w.version()})
	})
	return w
}

// version reads the tenant's gold version in a transaction of its own.
func (w *versionWatch) version() int64 {
	ctx := context.Background()
	var v int64
	err := w.f.db.TenantTx(ctx, w.f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM gold_freshness`).Scan(&v)
	})
	if err != nil {
		w.f.t.Fatal(err)
	}
	return v
}

// committed is the commit stamp of the tenant's current version.
func (w *versionWatch) committed() time.Time {
	ctx := context.Background()
	var at time.Time
	err := w.f.db.TenantTx(ctx, w.f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT committed FROM gold_freshness`).Scan(&at)
	})
	if err != nil {
		w.f.t.Fatal(err)
	}
	return at
}

// lsn is the WAL position recorded with the tenant's current version.
func (w *versionWatch) lsn() string {
	ctx := context.Background()
	var lsn string
	err := w.f.db.TenantTx(ctx, w.f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT lsn::text FROM gold_freshness`).Scan(&lsn)
	})
	if err != nil {
		w.f.t.Fatal(err)
	}
	return lsn
}

// takeHooks returns and forgets the hook calls so far.
func (w *versionWatch) takeHooks() []hookCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hooks
	w.hooks = nil
	return h
}

// notifications returns the payloads that arrive within wait.
func (w *versionWatch) notifications(wait time.Duration) []string {
	var out []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		n, err := w.listen.WaitForNotification(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, n.Payload)
		wait = 200 * time.Millisecond
	}
}

// TestGoldVersionIncreasesWithEveryChange: every statement batch and every
// import that changes anything, and a gold rebuild, commit the next
// version, announce "<tenant>:<version>" and call the OnCommit hook after
// the commit; resends, dry runs, refused imports and failed batches change
// nothing and announce nothing.
func TestGoldVersionIncreasesWithEveryChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	w := watchVersions(f)
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := statement("00000000-0000-4000-8000-000000000001", 1, xapi.VerbLaunched, courseIRIs[0], day, "")
	importFile := func(kind imports.Kind, mode string, dryRun bool, csv string) func() error {
		return func() error {
			_, err := f.p.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: kind, Filename: "f.csv", Data: []byte(csv),
				Mode: mode, DryRun: dryRun})
			return err
		}
	}
	batch := func(stmts ...string) func() error {
		return func() error {
			parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(stmts, ",") + "]"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
			return err
		}
	}
	enrolments := "employee_id,course,enrolled_at,completed_at\nE2,LEAD,2025-01-01,2025-01-10\n"
	steps := []struct {
		name    string
		do      func() error
		changes bool
		fails   bool
	}{
		{"first batch", batch(first), true, false},
		{"second batch", batch(statement("00000000-0000-4000-8000-000000000002", 2, xapi.VerbCompleted, courseIRIs[1], day, "")), true, false},
		{"resent batch", batch(first), false, false},
		{"conflicting batch", batch(statement("00000000-0000-4000-8000-000000000001", 3, xapi.VerbPassed, courseIRIs[0], day, "")), false, true},
		{"enrolment import", importFile(imports.KindEnrollments, "", false, enrolments), true, false},
		{"same enrolment import again", importFile(imports.KindEnrollments, "", false, enrolments), false, false},
		{"dry run", importFile(imports.KindEnrollments, "", true, "employee_id,course,enrolled_at\nE3,GO,2025-02-01\n"), false, false},
		{"refused import", importFile(imports.KindEnrollments, ModeAllOrNothing, false, "employee_id,course,enrolled_at\nE3,GO,2025-02-01\nE99,GO,2025-02-01\n"), false, false},
		{"catalog change", importFile(imports.KindCourses, "", false, "code,title\nGO,Go Fundamentals\n"), true, false},
		{"roster move", importFile(imports.KindRoster, "", false, rosterCSV(5, map[int]int{5: 2})), true, false},
		{"gold rebuild", func() error { return f.p.RebuildGold(ctx, f.tenantID) }, true, false},
		{"third batch", batch(statement("00000000-0000-4000-8000-000000000003", 4, xapi.VerbPassed, courseIRIs[2], day, "")), true, false},
	}
	version := w.version()
	if version != 3 { // the fixture's roster, catalog and requirements imports
		t.Fatalf("version %d after the fixture's three imports, want 3", version)
	}
	w.takeHooks()
	w.notifications(200 * time.Millisecond)
	for _, s := range steps {
		err := s.do()
		if (err != nil) != s.fails {
			t.Fatalf("%s: error %v", s.name, err)
		}
		got := w.version()
		hooks := w.takeHooks()
		payloads := w.notifications(500 * time.Millisecond)
		if !s.changes {
			if got != version || len(hooks) != 0 || len(payloads) != 0 {
				t.Errorf("%s changed nothing, yet: version %d → %d, hook calls %v, notifications %q", s.name, version, got, hooks, payloads)
			}
			continue
		}
		if got != version+1 {
			t.Errorf("%s: version %d → %d, want %d", s.name, version, got, version+1)
		}
		version = got
		if want := []hookCall{{f.tenantID, got, got}}; fmt.Sprint(hooks) != fmt.Sprint(want) {
			t.Errorf("%s: hook calls %v, want %v (tenant, version, version visible when called)", s.name, hooks, want)
		}
		if want := fmt.Sprintf("%d:%d:%d:%s", f.tenantID, got, w.committed().UnixMicro(), w.lsn()); len(payloads) != 1 || payloads[0] != want {
			t.Errorf("%s: notifications %q, want [%q]", s.name, payloads, want)
		}
	}
}

// TestConcurrentBatchesCommitVersionsInOrder: batches racing for one
// tenant each get their own version, and the notifications, sent at
// commit, arrive in increasing order.
func TestConcurrentBatchesCommitVersionsInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 6)
	w := watchVersions(f)
	w.notifications(200 * time.Millisecond)
	start := w.version()
	base := time.Now().UTC().Truncate(time.Second)
	const workers, batches = 4, 5
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range batches {
				id := fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", g, i)
				if _, err := f.p.StoreStatements(context.Background(), StatementBatch{TenantID: f.tenantID, Authority: testAuthority,
					Statements: mustParse(t, statement(id, 1+i%6, xapi.VerbProgressed, courseIRIs[g%3], base, ""))}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	payloads := w.notifications(time.Second)
	if len(payloads) != workers*batches {
		t.Fatalf("%d notifications, want %d", len(payloads), workers*batches)
	}
	for i, p := range payloads {
		if want := fmt.Sprintf("%d:%d:", f.tenantID, start+int64(i)+1); !strings.HasPrefix(p, want) {
			t.Fatalf("notification %d is %q, want %q (in commit order)", i, p, want)
		}
	}
	seen := map[int64]bool{}
	for _, h := range w.takeHooks() {
		if seen[h.version] || h.version <= start || h.version > start+workers*batches || h.visible < h.version {
			t.Errorf("hook call %v: versions must be new, distinct and committed", h)
		}
		seen[h.version] = true
	}
	if len(seen) != workers*batches {
		t.Errorf("hook called for %d versions, want %d", len(seen), workers*batches)
	}
}

// TestRolledBackBatchAnnouncesNothing: a batch whose commit fails after it
// took its version leaves the version as it was, calls no hook and sends
// no notification.
func TestRolledBackBatchAnnouncesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	w := watchVersions(f)
	w.notifications(200 * time.Millisecond)
	ctx := context.Background()
	before := w.version()
	// A deferred constraint trigger fails the commit itself, after every
	// statement of the batch, the version's included, has run.
	admin := superuser(t, f)
	if _, err := admin.ExecContext(ctx, `
		CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
		CREATE CONSTRAINT TRIGGER refuse_commit AFTER UPDATE ON gold_freshness
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, err := f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority,
		Statements: mustParse(t, statement("00000000-0000-4000-8000-000000000001", 1, xapi.VerbLaunched, courseIRIs[0], day, ""))})
	if err == nil || !strings.Contains(err.Error(), "commit refused") {
		t.Fatalf("batch error %v, want the refused commit", err)
	}
	if got, hooks, payloads := w.version(), w.takeHooks(), w.notifications(500*time.Millisecond); got != before || len(hooks) != 0 || len(payloads) != 0 {
		t.Fatalf("rolled-back batch: version %d → %d, hook calls %v, notifications %q", before, got, hooks, payloads)
	}
	if _, err := admin.ExecContext(ctx, `DROP TRIGGER refuse_commit ON gold_freshness`); err != nil {
		t.Fatal(err)
	}
	f.send(statement("00000000-0000-4000-8000-000000000001", 1, xapi.VerbLaunched, courseIRIs[0], day, ""))
	if got, hooks := w.version(), w.takeHooks(); got != before+1 || len(hooks) != 1 || hooks[0].version != got {
		t.Fatalf("next batch: version %d → %d, hook calls %v", before, got, hooks)
	}
}

func mustParse(t *testing.T, stmts ...string) []xapi.Statement {
	t.Helper()
	parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(stmts, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// superuser connects to the fixture's database as the test server's
// superuser, for what the app role may not do.
func superuser(t *testing.T, f *fixture) *sql.DB { return testdb.Superuser(t, f.db) }
