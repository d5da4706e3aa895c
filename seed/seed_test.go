package seed

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
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
	if err := Bench(ctx, db, io.Discard, BenchOptions{Tenants: 1, Learners: 12, Statements: 1, Prefix: "w", Writers: 9}); err == nil {
		t.Error("9 writers accepted: two tenants' would not fit in the app's pool")
	}
}

// TestBenchDeletesATenantItFailedToFill interrupts a bulk seed once its
// tenant exists: the tenant is deleted, so the next run makes it afresh
// (an existing tenant is skipped).
func TestBenchDeletesATenantItFailedToFill(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	tenants := models.NewTenantStore(db)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if _, err := tenants.BySlug(ctx, "gone001"); err == nil {
				cancel()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	o := BenchOptions{Tenants: 1, Learners: 30, Statements: 600, Prefix: "gone"}
	if err := Bench(ctx, db, io.Discard, o); err == nil {
		t.Fatal("an interrupted seed succeeded")
	}
	if _, err := tenants.BySlug(context.Background(), "gone001"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the tenant an interrupted seed made: %v, want it deleted", err)
	}
	if err := Bench(context.Background(), db, io.Discard, o); err != nil {
		t.Fatal(err)
	}
	ten, err := tenants.BySlug(context.Background(), "gone001")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM xapi_statements WHERE tenant_id = ?`, ten.ID).Scan(&n).Error
	})
	if n < 400 {
		t.Errorf("the tenant made again holds %d statements", n)
	}
}
