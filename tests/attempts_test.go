package tests

import (
	"context"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/pipeline"
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
	db, url, acme := populatedAcme(t)
	p := pipeline.New(db)
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
	remigrate(t, url, 35)
	if filled := rows(); !slices.Equal(filled, kept) {
		t.Errorf("migration 00035 filled %d rows, the pipeline kept %d (or they differ)", len(filled), len(kept))
	}
	assertGoldEqualsRebuild(t, db, "acme")
}
