package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// TestTenantWideSilverRebuildEqualsIncremental drives random streams
// (statements, voids of stored and of not yet arrived statements, roster
// moves, imported history) and checks that the tenant-wide, set-based
// rebuild of silver and gold (rebuildSilver, rebuildGold: what the bulk
// load and `silver rebuild` run) gives exactly the rows the incremental
// path keeps.
func TestTenantWideSilverRebuildEqualsIncremental(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			const learners = 20
			f := newFixture(t, learners)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 7))
			base := time.Now().UTC().Truncate(time.Second)
			var ids, pending []string
			for step := 0; step < 12; step++ {
				switch op := r.IntN(8); {
				case op < 5:
					var batch []string
					for range 1 + r.IntN(40) {
						batch = append(batch, randomStatement(r, learners, base))
					}
					batch, pending = append(batch, pending...), nil
					ids = append(ids, f.send(batch...).IDs...)
				case op == 5 && len(ids) > 0:
					early := randomStatement(r, learners, base)
					void := `{"actor":{"mbox":"mailto:p1@t.test"},"verb":{"id":%q},"object":{"objectType":"StatementRef","id":%q}}`
					f.send(fmt.Sprintf(void, xapi.VerbVoided, ids[r.IntN(len(ids))]), fmt.Sprintf(void, xapi.VerbVoided, early[7:43]))
					pending = append(pending, early)
				case op == 6:
					who := 2 + r.IntN(learners-1)
					f.importCSV(imports.KindRoster, rosterCSV(learners, map[int]int{who: 1 + r.IntN(who-1)}))
				default:
					f.importCSV(imports.KindEnrollments, fmt.Sprintf(
						"employee_id,course,enrolled_at,completed_at,due_at,score,passed\nE%d,SEC,2025-01-05,2025-01-20,2025-02-01,80,yes\n",
						1+r.IntN(learners)))
				}
				err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
					tables := append(GoldTables(), silverTables...)
					inc, err := snapshot(ctx, tx, f.tenantID, tables)
					if err != nil {
						return err
					}
					// Start from nothing the rebuild must produce.
					if _, err := tx.Exec(ctx, `UPDATE compliance_assignments SET completed_at = NULL, expires_on = NULL`); err != nil {
						return err
					}
					if err := rebuildSilver(ctx, tx, f.tenantID, "Europe/London"); err != nil {
						return err
					}
					if err := rebuildGold(ctx, tx, f.tenantID); err != nil {
						return err
					}
					full, err := snapshot(ctx, tx, f.tenantID, tables)
					if err != nil {
						return err
					}
					for _, table := range tables {
						if got, want := strings.Join(full[table], "\n"), strings.Join(inc[table], "\n"); got != want {
							t.Errorf("step %d: %s: the tenant-wide rebuild gives\n%s\nthe incremental path\n%s", step, table, got, want)
						}
					}
					return errRollback
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Fatal(err)
				}
				if t.Failed() {
					return
				}
			}
			// The command's entry point commits a rebuild as a new version.
			times, err := f.p.Rebuild(ctx, f.tenantID, true)
			if err != nil || times.Silver <= 0 || times.Gold <= 0 {
				t.Fatalf("Rebuild: %+v, %v", times, err)
			}
			f.assertGoldEqualsRebuild("after a committed rebuild")
		})
	}
}
