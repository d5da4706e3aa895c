package tests

import (
	"context"
	"database/sql"
	"io"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
)

// TestQuestionGoldMigrationFillsWhatARebuildWould takes a populated
// database back to before migration 00033 and up again: the question gold
// it fills from the learning events is row for row what the pipeline kept,
// and what a rebuild computes.
func TestQuestionGoldMigrationFillsWhatARebuildWould(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url, _ := populatedAcme(t)
	rows := func() []string {
		var out []string
		db.Platform(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT g::text FROM gold_question_daily g UNION ALL SELECT g::text FROM gold_question_daily_tenant g ORDER BY 1`).Scan(&out).Error
		})
		return out
	}
	kept := rows()
	if len(kept) == 0 {
		t.Fatal("no question gold: the case checks nothing")
	}
	remigrate(t, url, 33)
	if filled := rows(); !slices.Equal(filled, kept) {
		t.Errorf("migration 00033 filled %d question gold rows, the pipeline kept %d (or they differ)", len(filled), len(kept))
	}
	assertGoldEqualsRebuild(t, db, "acme")
}

// populatedAcme is a database with the demo data and a generated acme of
// 100 people in 6 courses (5,000 statements through the pipeline), for
// the migrations' fill tests; it returns the database, its owner's URL
// and acme's id.
func populatedAcme(t *testing.T) (*database.DB, string, int64) {
	t.Helper()
	ctx := context.Background()
	url := testdb.NewURL(t)
	db := testdb.Open(t, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	var acme int64
	db.Platform(ctx, func(tx *gorm.DB) error { return tx.Raw(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&acme).Error })
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 100, 3, 6, 2, 5000
	if _, err := generator.Populate(ctx, pipeline.New(db), acme, cfg); err != nil {
		t.Fatal(err)
	}
	return db, url, acme
}

// remigrate takes the database at url back to before migration version,
// then up again, so that the migration fills its tables from what is there.
func remigrate(t *testing.T, url string, version int64) {
	t.Helper()
	ctx := context.Background()
	owner, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for {
		var v int64
		if err := owner.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v < version {
			break
		}
		if err := database.Migrate(ctx, url, "down", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if err := database.Migrate(ctx, url, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
}
