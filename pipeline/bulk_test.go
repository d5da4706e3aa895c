package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/learnlens/learnlens/database/testdb"
)

// bulkStatements makes n random statements about f's people (and two
// people not on the roster), as a bulk load's each.
func bulkStatements(n int) func(yield func([]byte) error) error {
	return func(yield func([]byte) error) error {
		r := rand.New(rand.NewPCG(17, 17))
		base := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		for range n {
			if err := yield([]byte(randomStatement(r, 20, base))); err != nil {
				return err
			}
		}
		return nil
	}
}

// bulkCounts is what a tenant holds of a bulk load: statements, learning
// events, its statement count and the sum of its hourly counts.
func (f *fixture) bulkCounts() string {
	f.t.Helper()
	var statements, events, count, hours int64
	err := f.db.TenantTx(context.Background(), f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM xapi_statements), (SELECT count(*) FROM learning_events),
			(SELECT coalesce(sum(statements), 0) FROM tenant_statement_counts), (SELECT coalesce(sum(statements), 0) FROM tenant_statement_hours)`).
			Scan(&statements, &events, &count, &hours)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return fmt.Sprintf("%d statements, %d events, counted %d, %d in the hours", statements, events, count, hours)
}

// TestBulkLoadFailingAfterItsWritersCommittedLeavesNothing fails a bulk
// load after its writers committed bronze and the events (as a database
// error or an interrupt during the rebuild would): what they wrote is
// deleted and the tenant's statement counts stay right, so the same load
// then succeeds. Both ways of writing, two writers each. Not parallel:
// it sets bulkCommittedHook.
func TestBulkLoadFailingAfterItsWritersCommittedLeavesNothing(t *testing.T) {
	ctx := context.Background()
	for _, direct := range []bool{false, true} {
		f := newFixture(t, 20)
		o := BulkOptions{Writers: 2}
		if direct {
			o.Direct = testdb.SuperuserPool(t, f.db)
		}
		const n = 5_000 // three chunks
		boom := errors.New("boom")
		bulkCommittedHook = func() error { return boom }
		_, err := f.p.BulkStore(ctx, f.tenantID, testAuthority, bulkStatements(n), o)
		bulkCommittedHook = nil
		if !errors.Is(err, boom) {
			t.Fatalf("direct %v: the failed load returned %v", direct, err)
		}
		if got := f.bulkCounts(); got != "0 statements, 0 events, counted 0, 0 in the hours" {
			t.Errorf("direct %v: a failed load left %s", direct, got)
		}
		res, err := f.p.BulkStore(ctx, f.tenantID, testAuthority, bulkStatements(n), o)
		if err != nil {
			t.Fatalf("direct %v: %v", direct, err)
		}
		if want := fmt.Sprintf("%d statements, %d events, counted %d, %d in the hours", n, res.Events, n, n); f.bulkCounts() != want {
			t.Errorf("direct %v: the load after it left %s, want %s", direct, f.bulkCounts(), want)
		}
	}
}

// TestBulkLoadRefusesAStatementIdGivenTwice gives one statement id in two
// chunks: both copies go to one writer, whose transaction refuses the
// second, rather than to two, which would each wait for the other to
// commit.
func TestBulkLoadRefusesAStatementIdGivenTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	each := func(yield func([]byte) error) error {
		var first []byte
		i := 0
		err := bulkStatements(5_000)(func(js []byte) error {
			if i++; i == 1 {
				first = js
			}
			return yield(js)
		})
		if err != nil {
			return err
		}
		return yield(first)
	}
	for _, o := range []BulkOptions{{Writers: 2}, {Writers: 2, Direct: testdb.SuperuserPool(t, f.db)}} {
		_, err := f.p.BulkStore(ctx, f.tenantID, testAuthority, each, o)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("direct %v: a statement given twice gave %v, want a unique violation", o.Direct != nil, err)
		}
		if got := f.bulkCounts(); got != "0 statements, 0 events, counted 0, 0 in the hours" {
			t.Errorf("direct %v: a refused load left %s", o.Direct != nil, got)
		}
	}
}
