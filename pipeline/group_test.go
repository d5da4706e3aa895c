package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/xapi"
)

// holdLock holds the tenant's pipeline lock from another connection until
// release is called, so that the batches sent meanwhile queue up and are
// stored in groups.
func (f *fixture) holdLock() (release func()) {
	f.t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- f.db.TenantTx(context.Background(), f.tenantID, func(tx pgx.Tx) error {
			if _, err := tx.Exec(context.Background(), `SELECT pg_advisory_xact_lock($1, $2::int)`, lockKey, f.tenantID); err != nil {
				return err
			}
			close(held)
			<-done
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-finished:
		f.t.Fatalf("hold the pipeline lock: %v", err)
	}
	return func() {
		close(done)
		if err := <-finished; err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestGroupedBatchesKeepTheirOwnResults sends many batches of one tenant
// at once, so that they are stored in groups, and checks that each batch
// gets what it would have got alone: new statements stored, a resent batch
// all duplicates, a conflicting id refused (409) and a void of a voiding
// statement refused (400), with nothing of a refused batch stored and
// everything of the others; each credential's count is its own batches';
// and gold equals a rebuild.
func TestGroupedBatchesKeepTheirOwnResults(t *testing.T) {
	t.Parallel()
	const learners = 12
	f := newFixture(t, learners)
	ctx := context.Background()
	var credIDs []int64
	for i := 0; i < 2; i++ {
		c, err := models.NewCredentialStore(f.db).CreateWithSecret(ctx, f.tenantID, "lms", fmt.Sprintf("group-key-%d", i), "group-secret")
		if err != nil {
			t.Fatal(err)
		}
		credIDs = append(credIDs, c.ID)
	}
	base := time.Now().UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(17, 3))
	random := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = randomStatement(r, learners, base)
		}
		return out
	}
	// Stored before: a statement, and one that voids another.
	first := random(10)
	const voiding = "0000000a-0000-4000-8000-000000000001"
	first = append(first, fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
		voiding, xapi.VerbVoided, idOf(t, first[0])))
	f.send(first...)
	resent := random(15)
	f.send(resent...)

	type batch struct {
		stmts []string
		cred  int
		want  string // "stored", "duplicates", "conflict", "voiding"
	}
	var batches []batch
	for i := 0; i < 24; i++ {
		batches = append(batches, batch{random(20), i % 2, "stored"})
	}
	conflict := random(20)
	conflict[7] = first[3][:strings.Index(first[3], `"timestamp"`)] + `"timestamp":"2001-01-01T00:00:00Z"}`
	batches = append(batches, batch{conflict, 0, "conflict"})
	voidVoid := append(random(20), fmt.Sprintf(`{"actor":{"mbox":"mailto:p2@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
		xapi.VerbVoided, voiding))
	batches = append(batches, batch{voidVoid, 1, "voiding"})
	batches = append(batches, batch{resent, 1, "duplicates"})
	for i := 0; i < 6; i++ {
		batches = append(batches, batch{random(20), i % 2, "stored"})
	}

	groupsBefore, batchesBefore := f.p.GroupStats()
	release := f.holdLock()
	var wg sync.WaitGroup
	results := make([]StoreResult, len(batches))
	errs := make([]error, len(batches))
	for i, b := range batches {
		parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(b.stmts, ",") + "]"))
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, CredentialID: credIDs[b.cred],
				Authority: testAuthority, Statements: parsed})
		}()
	}
	time.Sleep(300 * time.Millisecond) // all of them queue behind the held lock
	release()
	wg.Wait()

	groups, grouped := f.p.GroupStats()
	groups, grouped = groups-groupsBefore, grouped-batchesBefore
	if grouped != int64(len(batches)) || groups >= grouped/4 {
		t.Errorf("%d batches went in %d groups, want all %d in a few groups", grouped, groups, len(batches))
	}
	wantStored := map[int]int{}
	for i, b := range batches {
		var conflictErr *ConflictError
		var voidingErr *VoidingError
		switch b.want {
		case "stored":
			if errs[i] != nil || results[i].Stored != len(b.stmts) || results[i].Duplicates != 0 || len(results[i].IDs) != len(b.stmts) {
				t.Errorf("batch %d: %+v, %v; want all %d stored", i, results[i], errs[i], len(b.stmts))
			}
			wantStored[b.cred] += len(b.stmts)
		case "duplicates":
			if errs[i] != nil || results[i].Stored != 0 || results[i].Duplicates != len(b.stmts) {
				t.Errorf("resent batch %d: %+v, %v; want %d duplicates", i, results[i], errs[i], len(b.stmts))
			}
		case "conflict":
			if !errors.As(errs[i], &conflictErr) {
				t.Errorf("conflicting batch %d: %+v, %v; want a conflict", i, results[i], errs[i])
			}
		case "voiding":
			if !errors.As(errs[i], &voidingErr) {
				t.Errorf("batch %d voiding a voiding statement: %+v, %v; want a voiding error", i, results[i], errs[i])
			}
		}
	}
	// Nothing of the refused batches is stored.
	for _, b := range batches {
		if b.want != "conflict" && b.want != "voiding" {
			continue
		}
		parsed, _ := xapi.ParseStatements([]byte("[" + strings.Join(b.stmts, ",") + "]"))
		var ids []string
		for _, s := range parsed {
			if s.ID != "" && s.ID != idOf(t, first[3]) {
				ids = append(ids, s.ID)
			}
		}
		var n int
		if err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM xapi_statements WHERE id = ANY($1::text[]::uuid[])`, ids).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s batch: %d of its statements stored, want none", b.want, n)
		}
	}
	for c, id := range credIDs {
		var n int
		if err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT statements_received FROM xapi_credentials WHERE id = $1`, id).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		if n != wantStored[c] {
			t.Errorf("credential %d: %d statements received, want %d", c, n, wantStored[c])
		}
	}
	// The usage page's counters count what bronze holds (the pipeline
	// counts its groups under the lock, migration 00023).
	var bronze, counted, hours int
	if err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM xapi_statements),
			(SELECT statements FROM tenant_statement_counts), (SELECT sum(statements) FROM tenant_statement_hours)`).Scan(&bronze, &counted, &hours)
	}); err != nil {
		t.Fatal(err)
	}
	if counted != bronze || hours != bronze {
		t.Errorf("statement counters: %d in all, %d by hour; bronze holds %d", counted, hours, bronze)
	}
	f.assertGoldEqualsRebuild("after grouped batches")
}

// TestAVoidInvalidatedInItsGroupIsRefusedAlone sends, in one group, a
// batch that voids a statement and then a batch that voids that voiding
// statement: stored one after the other, the first is accepted and the
// second refused as a void of a voiding statement, and the group gives
// exactly that (the first's 200 stands, the second's 400 stores nothing).
func TestAVoidInvalidatedInItsGroupIsRefusedAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	target := statement("00000000-0000-4000-8000-0000000000aa", 1, xapi.VerbCompleted, courseIRIs[0], base, "")
	f.send(target)
	const voider = "00000000-0000-4000-8000-0000000000bb"
	first := []string{statement("00000000-0000-4000-8000-0000000000b1", 2, xapi.VerbLaunched, courseIRIs[1], base, ""),
		fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":"00000000-0000-4000-8000-0000000000aa"}}`,
			voider, xapi.VerbVoided)}
	second := []string{statement("00000000-0000-4000-8000-0000000000c1", 3, xapi.VerbLaunched, courseIRIs[1], base, ""),
		fmt.Sprintf(`{"id":"00000000-0000-4000-8000-0000000000cc","actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`,
			xapi.VerbVoided, voider)}
	// Two unrelated batches first: while they are stored (the most of
	// one tenant at once), the next two wait and go in one group.
	send := func(stmts []string, into *error, wg *sync.WaitGroup) {
		parsed, err := xapi.ParseStatements([]byte("[" + strings.Join(stmts, ",") + "]"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, *into = f.p.StoreStatements(ctx, StatementBatch{TenantID: f.tenantID, Authority: testAuthority, Statements: parsed})
		}()
		time.Sleep(50 * time.Millisecond) // queued in this order
	}
	release := f.holdLock()
	errs := make([]error, 4)
	var wg sync.WaitGroup
	send([]string{statement("00000000-0000-4000-8000-0000000000d1", 4, xapi.VerbLaunched, courseIRIs[2], base, "")}, &errs[2], &wg)
	send([]string{statement("00000000-0000-4000-8000-0000000000d2", 4, xapi.VerbLaunched, courseIRIs[3], base, "")}, &errs[3], &wg)
	groups, _ := f.p.GroupStats()
	send(first, &errs[0], &wg)
	send(second, &errs[1], &wg)
	release()
	wg.Wait()
	if after, _ := f.p.GroupStats(); after != groups+1 {
		t.Errorf("the two batches went in %d groups, want 1", after-groups)
	}
	if errs[0] != nil {
		t.Errorf("the batch voiding a statement: %v, want it stored", errs[0])
	}
	var voidingErr *VoidingError
	if !errors.As(errs[1], &voidingErr) {
		t.Errorf("the batch voiding the voiding statement: %v, want a voiding error", errs[1])
	}
	for _, err := range errs[2:] {
		if err != nil {
			t.Errorf("an unrelated batch: %v", err)
		}
	}
	var stored []string
	if err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM xapi_statements ORDER BY id`)
		if err != nil {
			return err
		}
		stored, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := "00000000-0000-4000-8000-0000000000aa 00000000-0000-4000-8000-0000000000b1 00000000-0000-4000-8000-0000000000bb 00000000-0000-4000-8000-0000000000d1 00000000-0000-4000-8000-0000000000d2"
	if got := strings.Join(stored, " "); got != want {
		t.Errorf("stored %s, want %s", got, want)
	}
	f.assertGoldEqualsRebuild("after a void invalidated in its group")
}

// idOf is the id of a statement made by randomStatement or statement.
func idOf(t *testing.T, stmt string) string {
	t.Helper()
	s, err := xapi.ParseStatement([]byte(stmt))
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}
