package models_test

import (
	"context"
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// TestStatementCountersFollowBronze: the usage counters equal a count of
// xapi_statements after inserts and deletes, per tenant.
func TestStatementCountersFollowBronze(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	tenants := models.NewTenantStore(db)
	a, err := tenants.Create(ctx, models.NewTenant{Slug: "a", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tenants.Create(ctx, models.NewTenant{Slug: "b", Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(tenant int64, n int, age string) {
		err := db.Tenant(ctx, tenant, func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO xapi_statements (tenant_id, id, stored, ts, verb_id, actor_key, agent_keys, related_agent_keys, related_activity_ids, statement)
				SELECT ?, gen_random_uuid(), now() - ?::interval, now(), 'v', 'a', '{}', '{}', '{}', '{}' FROM generate_series(1, ?)`, tenant, age, n).Error
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(a.ID, 5, "0 hours")
	insert(a.ID, 3, "30 hours")
	insert(b.ID, 2, "1 hour")
	// The application may not delete bronze; an operator (superuser) may.
	if _, err := testdb.Superuser(t, db).ExecContext(ctx, `DELETE FROM xapi_statements WHERE tenant_id = $1 AND stored < now() - interval '1 day'`, a.ID); err != nil {
		t.Fatal(err)
	}
	insert(a.ID, 1, "2 hours")
	us, err := tenants.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{"a": {6, 6}, "b": {2, 2}}
	for _, u := range us {
		if got := [2]int64{u.Statements, u.Statements24h}; got != want[u.Slug] || u.LastStatement == nil || u.DatabaseBytes <= 0 {
			t.Errorf("%s: statements, last 24 h %v, want %v; last %v, size %d", u.Slug, got, want[u.Slug], u.LastStatement, u.DatabaseBytes)
		}
	}
}
