package tests

import (
	"context"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/pipeline"
)

// TestOrgRollupsMigrationFillsWhatThePipelineKept takes a populated
// database back to before migration 00036 and up again: the organisation
// roll-ups it fills from the grouped gold are row for row what the
// pipeline kept, and what a rebuild computes.
func TestOrgRollupsMigrationFillsWhatThePipelineKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url, _ := populatedAcme(t)
	var selects []string
	for _, table := range pipeline.GoldTables() {
		if strings.HasSuffix(table, "_org") {
			selects = append(selects, "SELECT '"+table+" ' || g::text FROM "+table+" g")
		}
	}
	if len(selects) < 6 {
		t.Fatalf("%d organisation roll-ups", len(selects))
	}
	rows := func() []string {
		var out []string
		db.Platform(ctx, func(tx *gorm.DB) error {
			return tx.Raw(strings.Join(selects, " UNION ALL ") + " ORDER BY 1").Scan(&out).Error
		})
		return out
	}
	kept := rows()
	for _, s := range selects {
		table := strings.Fields(s)[1][1:]
		if !slices.ContainsFunc(kept, func(r string) bool { return strings.HasPrefix(r, table+" ") }) {
			t.Fatalf("no rows of %s: the case checks nothing", table)
		}
	}
	remigrate(t, url, 36)
	if filled := rows(); !slices.Equal(filled, kept) {
		t.Errorf("migration 00036 filled %d rows, the pipeline kept %d (or they differ)", len(filled), len(kept))
	}
	assertGoldEqualsRebuild(t, db, "acme")
}
