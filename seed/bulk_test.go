package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/xapi"
)

// comparedTables are every table a statement reaches, bronze to gold.
var comparedTables = append([]string{"xapi_statements", "xapi_voided", "learner_identities", "learners", "courses",
	"learning_events", "daily_activity", "enrollments", "compliance_assignments"}, pipeline.GoldTables()...)

// portableSnapshot returns every row of the tenant's tables as JSON lines
// that name people, courses and requirements by what they are (email,
// activity IRI) rather than by their ids, which differ between tenants,
// leaving out what depends on when or how the rows were written.
func portableSnapshot(t *testing.T, db *database.DB, tenantID int64) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	person := func(col string) string {
		return `(SELECT coalesce(p.email, p.employee_id, p.name) FROM learners p WHERE p.tenant_id = g.tenant_id AND p.id = g.` + col + `)`
	}
	rewrite := map[string]string{
		"learner_id": person("learner_id"), "manager_id": person("manager_id"), "manager_at": person("manager_at"),
		"node_id":        person("node_id"),
		"course_id":      `(SELECT c.activity_iri FROM courses c WHERE c.tenant_id = g.tenant_id AND c.id = g.course_id)`,
		"requirement_id": `(SELECT c.activity_iri || ' ' || r.audience_key FROM compliance_requirements r JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id WHERE r.tenant_id = g.tenant_id AND r.id = g.requirement_id)`,
		"statement":      `g.statement - 'stored'`,
	}
	skip := map[string]bool{"tenant_id": true, "seq": true, "stored": true, "id": true, "created_at": true, "updated_at": true}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		for _, table := range comparedTables {
			rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, table)
			if err != nil {
				return err
			}
			cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			var sel []string
			for _, c := range cols {
				switch {
				case c == "id" && table == "xapi_statements":
					sel = append(sel, "g.id")
				case skip[c] || (table == "learners" && c != "email" && c != "name" && c != "rostered"):
				case rewrite[c] != "":
					sel = append(sel, rewrite[c]+" AS "+c)
				default:
					sel = append(sel, "g."+c)
				}
			}
			rows, err = tx.Query(ctx, `SELECT row_to_json(x)::text FROM (SELECT `+strings.Join(sel, ", ")+` FROM `+table+
				` g WHERE g.tenant_id = $1) x ORDER BY 1`, tenantID)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBulkLoadEqualsTheIngestPath sends the same generated statements to
// one tenant through the ingest path, in batches, and to another by the
// bulk load, and compares every row they produced, bronze to gold.
func TestBulkLoadEqualsTheIngestPath(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	p := pipeline.New(db)
	cfg := generator.Config{Seed: 7, Learners: 40, Depth: 3, Courses: 10, Required: 3, Statements: 2500, Months: 6,
		EmailDomain: "same.test", TimeZone: "Europe/London", Now: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC), Refreshers: true}
	ds, err := generator.GenerateStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	newTenant := func(slug string) int64 {
		ten, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: slug, Name: slug, TimeZone: "Europe/London"})
		if err != nil {
			t.Fatal(err)
		}
		if err := generator.ImportFiles(ctx, p, ten.ID, ds.Files); err != nil {
			t.Fatal(err)
		}
		return ten.ID
	}

	incremental := newTenant("inc")
	var batch []xapi.Statement
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := p.StoreStatements(ctx, pipeline.StatementBatch{TenantID: incremental, Authority: ds.Authority(), Statements: batch})
		batch = batch[:0]
		return err
	}
	sent, voids, err := ds.Each(func(js []byte) error {
		s, err := xapi.ParseStatement(js)
		if err != nil {
			return err
		}
		if batch = append(batch, s); len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	if voids == 0 || sent < 2400 {
		t.Fatalf("the generator gave %d statements, %d voids: too few to compare", sent, voids)
	}

	each := func(yield func([]byte) error) error {
		_, _, err := ds.Each(yield)
		return err
	}
	want := portableSnapshot(t, db, incremental)
	wantCounts := statementCounts(t, db, incremental)
	// Through temporary tables on the app's connections, and by COPY into
	// the tables themselves on a login that bypasses Row Level Security;
	// two writers each.
	var bulk int64
	for _, o := range []pipeline.BulkOptions{{}, {Direct: testdb.SuperuserPool(t, db)}} {
		bulk = newTenant(fmt.Sprintf("bulk-%v", o.Direct != nil))
		res, err := p.BulkStore(ctx, bulk, ds.Authority(), each, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Statements != sent || res.Writers != 2 || res.Direct != (o.Direct != nil) {
			t.Errorf("bulk load (direct %v) stored %d statements on %d connections, ingest %d", res.Direct, res.Statements, res.Writers, sent)
		}
		got := portableSnapshot(t, db, bulk)
		for _, table := range comparedTables {
			if len(want[table]) == 0 && !strings.HasPrefix(table, "gold_completion_due") {
				t.Errorf("%s: no rows to compare", table)
			}
			if !slices.Equal(got[table], want[table]) {
				t.Errorf("%s (direct %v): the bulk load gives %d rows, the ingest path %d; first difference:\n%s", table, res.Direct,
					len(got[table]), len(want[table]), firstDifference(got[table], want[table]))
			}
		}
		if c := statementCounts(t, db, bulk); c != wantCounts {
			t.Errorf("statement counts (direct %v): %s, the ingest path %s", res.Direct, c, wantCounts)
		}
	}

	// A second load into the same tenant is refused and changes nothing.
	if _, err := p.BulkStore(ctx, bulk, ds.Authority(), each, pipeline.BulkOptions{}); !errors.Is(err, pipeline.ErrNotEmpty) {
		t.Errorf("second bulk load: %v", err)
	}
	// A statement that does not parse refuses the whole load.
	empty := newTenant("bad")
	_, err = p.BulkStore(ctx, empty, ds.Authority(), func(yield func([]byte) error) error {
		_, _, err := ds.Each(func(js []byte) error {
			return yield(js)
		})
		if err != nil {
			return err
		}
		return yield([]byte(`{"actor":{"mbox":"mailto:x@same.test"}}`))
	}, pipeline.BulkOptions{})
	if err == nil {
		t.Error("a statement without verb or object was loaded")
	}
	var n int
	db.TenantTx(ctx, empty, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM xapi_statements) + (SELECT count(*) FROM learning_events)`).Scan(&n)
	})
	if n != 0 {
		t.Errorf("a refused bulk load left %d rows", n)
	}
}

// statementCounts is the tenant's statement count and the sum of its
// hourly counts (the platform's usage page).
func statementCounts(t *testing.T, db *database.DB, tenantID int64) string {
	t.Helper()
	var n, hours int64
	err := db.TenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (SELECT statements FROM tenant_statement_counts WHERE tenant_id = $1),
			(SELECT coalesce(sum(statements), 0) FROM tenant_statement_hours WHERE tenant_id = $1)`, tenantID).Scan(&n, &hours)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d statements, %d in the hours", n, hours)
}

func firstDifference(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return "bulk:   " + g + "\ningest: " + w
		}
	}
	return ""
}
