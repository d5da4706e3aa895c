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
	"github.com/learnlens/learnlens/xapi"
)

// TestAttemptsToPassMigrationFillsWhatThePipelineKept takes a populated
// database back to before migration 00035 and up again: the enrolments'
// attempts to pass, their gold (gold_attempts_to_pass and its roll-up)
// and the rows of people never active in gold_active_people that it fills
// are row for row what the pipeline kept, and what a rebuild computes.
func TestAttemptsToPassMigrationFillsWhatThePipelineKept(t *testing.T) {
	t.Parallel()
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
	p := pipeline.New(db)
	if _, err := generator.Populate(ctx, p, acme, cfg); err != nil {
		t.Fatal(err)
	}
	// Someone whose only statement is voided: never active.
	for _, s := range []string{
		`{"id":"00000000-0000-4000-8000-00000000a035","actor":{"mbox":"mailto:never@acme.test"},"verb":{"id":"` + xapi.VerbLaunched + `"},"object":{"id":"urn:test:course"}}`,
		`{"actor":{"mbox":"mailto:never@acme.test"},"verb":{"id":"` + xapi.VerbVoided + `"},"object":{"objectType":"StatementRef","id":"00000000-0000-4000-8000-00000000a035"}}`,
	} {
		parsed, err := xapi.ParseStatements([]byte("[" + s + "]"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.StoreStatements(ctx, pipeline.StatementBatch{TenantID: acme, Statements: parsed,
			Authority: xapi.Agent{ObjectType: "Agent", AccountHomePage: "http://localhost", AccountName: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() []string {
		var out []string
		db.Platform(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT format('enrolment %s %s %s %s', tenant_id, course_id, learner_id, attempts_to_pass) FROM enrollments
				WHERE attempts_to_pass IS NOT NULL
				UNION ALL SELECT g::text FROM gold_attempts_to_pass g UNION ALL SELECT g::text FROM gold_attempts_to_pass_tenant g
				UNION ALL SELECT g::text FROM gold_active_people g ORDER BY 1`).Scan(&out).Error
		})
		return out
	}
	kept := rows()
	var passed, never int
	db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT (SELECT count(*) FROM gold_attempts_to_pass), (SELECT count(*) FROM gold_active_people WHERE last_day IS NULL)`).
			Row().Scan(&passed, &never)
	})
	if passed == 0 || never == 0 {
		t.Fatalf("%d rows of attempts to pass, %d people never active: the case checks nothing", passed, never)
	}
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
		if v < 35 {
			break
		}
		if err := database.Migrate(ctx, url, "down", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if err := database.Migrate(ctx, url, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	if filled := rows(); !slices.Equal(filled, kept) {
		t.Errorf("migration 00035 filled %d rows, the pipeline kept %d (or they differ)", len(filled), len(kept))
	}
	assertGoldEqualsRebuild(t, db, "acme")
}
