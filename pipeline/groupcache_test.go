package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// TestCachedGroupsFollowRosterChangesOnAnotherInstance runs two pipelines
// on one database, as two instances would. The first stores statements
// and keeps its learners' gold groups; the second moves people (a roster
// import, an erasure), and the first instance's next statements must count
// in the people's new groups: gold equals a rebuild after every step.
func TestCachedGroupsFollowRosterChangesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	const learners = 12
	f := newFixture(t, learners)
	other := New(f.db) // the second instance
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := 0
	// Every learner starts a course (a new enrolment: it counts in the
	// team tables of every manager above them, and in their own when
	// someone reports to them).
	sendAll := func(step string, course string) {
		t.Helper()
		var batch []string
		for i := 1; i <= learners; i++ {
			n++
			batch = append(batch, statement(fmt.Sprintf("00000000-0000-4000-8000-%012d", n), i, xapi.VerbProgressed, course, day,
				`,"result":{"duration":"PT5M"}`))
		}
		if res := f.send(batch...); res.Stored != learners {
			t.Fatalf("%s: stored %d, want %d", step, res.Stored, learners)
		}
		f.assertGoldEqualsRebuild(step)
	}
	sendAll("first batch", courseIRIs[0])
	if got := f.p.learnerGroups.size; got < learners {
		t.Fatalf("the first instance keeps %d groups, want %d", got, learners)
	}
	sendAll("from the cache", courseIRIs[1])

	// Person 12 moves under person 10, who had no one under them (so
	// person 10's own group gains a team node), into another department.
	if _, err := other.Import(ctx, ImportRequest{TenantID: f.tenantID, Kind: imports.KindRoster, Filename: "roster.csv",
		Data: []byte(rosterCSV(learners, map[int]int{12: 10}))}); err != nil {
		t.Fatal(err)
	}
	sendAll("after a move on the other instance", courseIRIs[2])
	var moved int
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM gold_course_activity_daily g JOIN courses c ON c.tenant_id = g.tenant_id AND c.id = g.course_id
			WHERE g.tenant_id = $1 AND g.department = 'Moved' AND c.activity_iri = $2`, f.tenantID, courseIRIs[2]).Scan(&moved)
	})
	if err != nil {
		t.Fatal(err)
	}
	if moved != 1 {
		t.Errorf("person 12's statement after the move counts in %d rows of the department Moved, want 1", moved)
	}

	// The other instance erases person 4, the manager of person 11: person
	// 11 moves up.
	var four int64
	err = f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM learners WHERE tenant_id = $1 AND employee_id = 'E4'`, f.tenantID).Scan(&four)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Erase(ctx, f.tenantID, four); err != nil {
		t.Fatal(err)
	}
	sendAll("after an erasure on the other instance", courseIRIs[3])
}

// TestGroupCacheAnswersOnlyItsVersion: a group is found again by the
// tenant and roster version it was kept for, never by another version or
// tenant, and nothing is kept for version 0 (a tenant whose roster never
// changed, or a process that lived through a Down and Up of migration 00037).
func TestGroupCacheAnswersOnlyItsVersion(t *testing.T) {
	var c groupCache
	found := map[int64]group{5: {manager: 9, department: "Sales", teams: []int64{9, 1}}}
	lookup := func(tenant, version int64) map[int64]group {
		out := map[int64]group{}
		v := &cachedGroups{cache: &c, tenant: tenant, version: version}
		if missing := v.lookup([]int64{5, 6}, out); len(missing)+len(out) != 2 {
			t.Fatalf("lookup: %d missing and %d found of 2", len(missing), len(out))
		}
		return out
	}
	(&cachedGroups{cache: &c, tenant: 1}).keep([]int64{5, 6}, found)
	if got := lookup(1, 0); len(got) != 0 {
		t.Errorf("version 0 answered %v", got)
	}
	(&cachedGroups{cache: &c, tenant: 1, version: 7}).keep([]int64{5, 6}, found)
	if got := lookup(1, 7); len(got) != 1 || got[5].manager != 9 {
		t.Errorf("version 7 answered %v, want learner 5's group only (6 does not exist)", got)
	}
	for _, other := range [][2]int64{{1, 8}, {2, 7}, {1, 0}} {
		if got := lookup(other[0], other[1]); len(got) != 0 {
			t.Errorf("tenant %d, version %d answered %v", other[0], other[1], got)
		}
	}
	if c.size != 1 {
		t.Errorf("%d entries kept, want 1", c.size)
	}
}
