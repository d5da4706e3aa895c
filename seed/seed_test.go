package seed

import (
	"context"
	"io"
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

func TestBenchMakesTenantsByBulkLoadOrThroughTheIngestPath(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	o := BenchOptions{Tenants: 2, Learners: 30, Statements: 600, Prefix: "b"}
	if err := Bench(ctx, db, io.Discard, o); err != nil {
		t.Fatal(err)
	}
	if err := Bench(ctx, db, io.Discard, BenchOptions{Tenants: 1, Learners: 30, Statements: 600, Prefix: "bi", Ingest: true}); err != nil {
		t.Fatal(err)
	}
	// Running again leaves the existing tenants alone.
	if err := Bench(ctx, db, io.Discard, o); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Slug                         string
		Learners, Statements, Events int64
	}
	var rows []row
	db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT t.slug,
				(SELECT count(*) FROM learners l WHERE l.tenant_id = t.id AND l.rostered) AS learners,
				(SELECT count(*) FROM xapi_statements s WHERE s.tenant_id = t.id) AS statements,
				(SELECT count(*) FROM learning_events e WHERE e.tenant_id = t.id) AS events
			FROM tenants t WHERE t.slug LIKE 'b%' ORDER BY 1`).Scan(&rows).Error
	})
	if len(rows) != 3 {
		t.Fatalf("tenants: %+v", rows)
	}
	for _, r := range rows {
		if r.Learners != 30 || r.Statements < 400 || r.Events == 0 {
			t.Errorf("%s: %d learners, %d statements, %d events", r.Slug, r.Learners, r.Statements, r.Events)
		}
	}
	if err := Bench(ctx, db, io.Discard, BenchOptions{}); err == nil {
		t.Error("empty options accepted")
	}
}
