package viewcache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/viewcache"
)

// readDirectory is a view of the tenant's directory: its value is the
// directory version its transaction saw; it counts its runs.
func (e *env) readDirectory(runs *atomic.Int64) viewcache.Compute {
	return func(ctx context.Context) (any, int64, int, error) {
		runs.Add(1)
		var n int64
		err := e.a.db.TenantTx(ctx, e.tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT coalesce((SELECT version FROM directory_versions WHERE tenant_id = $1), 0)`, e.tenant).Scan(&n)
		})
		return n, n, 8, err
	}
}

// directoryNow is A's current directory version.
func (e *env) directoryNow() int64 {
	e.t.Helper()
	v, err := e.a.directory.Current(context.Background(), e.tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.N
}

// importCourses adds a course through instance in's pipeline: a change
// of the tenant's directory (and of its gold).
func (e *env) importCourses(in *instance, code string) {
	e.t.Helper()
	rep, err := in.p.Import(context.Background(), pipeline.ImportRequest{TenantID: e.tenant, Kind: imports.KindCourses,
		Filename: "courses.csv", UploadedBy: "test", Data: []byte("code,title,category\n" + code + ",Course " + code + ",Safety\n")})
	if err != nil || rep.Changed != 1 {
		e.t.Fatalf("import course %s: %v %+v", code, err, rep)
	}
}

// TestDirectoryViewsLastAcrossGoldVersions: a view of the directory (a
// scope, the filter choices) is computed once however many gold versions
// commit, on this instance or another, while views of gold are computed
// again; a change of the directory on another instance reaches this one
// by its notification, and this instance's own change at once, before its
// notification (which a held listener keeps back).
func TestDirectoryViewsLastAcrossGoldVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := viewcache.NewCache(e.a.versions, 1<<20)
	c.Lag = 0 // gold views exact too: each new version is computed again
	c.Directory = e.a.directory
	dirKey := e.key("options")
	dirKey.Directory = true
	var dirRuns, goldRuns atomic.Int64
	get := func(key viewcache.Key, compute viewcache.Compute) int64 {
		t.Helper()
		v, _, err := c.Get(context.Background(), key, compute)
		if err != nil {
			t.Fatal(err)
		}
		return v.(int64)
	}
	first := get(dirKey, e.readDirectory(&dirRuns))
	for i := range 3 {
		e.commit(e.a)
		e.commit(e.b)
		e.eventually(int64(2 * (i + 1)))
		if got := get(dirKey, e.readDirectory(&dirRuns)); got != first {
			t.Fatalf("directory view %d after gold version %d, want %d", got, 2*(i+1), first)
		}
		if got := get(e.key("completion"), e.readVersion(&goldRuns)); got != int64(2*(i+1)) {
			t.Fatalf("gold view at version %d, want %d", got, 2*(i+1))
		}
	}
	if dirRuns.Load() != 1 || goldRuns.Load() != 3 {
		t.Fatalf("computed the directory view %d times and the gold view %d times over 6 gold versions, want 1 and 3",
			dirRuns.Load(), goldRuns.Load())
	}

	// Another instance's new course: seen once its notification arrives.
	e.importCourses(e.b, "C1")
	deadline := time.Now().Add(10 * time.Second)
	for e.directoryNow() == first {
		if time.Now().After(deadline) {
			t.Fatal("another instance's new course did not reach the directory version")
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := get(dirKey, e.readDirectory(&dirRuns))
	if second <= first || dirRuns.Load() != 2 {
		t.Fatalf("after another instance's change: directory view %d (before %d), computed %d times", second, first, dirRuns.Load())
	}

	// This instance's own change shows at once, before any notification.
	release := e.holdListener()
	defer release()
	e.importCourses(e.a, "C2")
	third := get(dirKey, e.readDirectory(&dirRuns))
	if third <= second || dirRuns.Load() != 3 {
		t.Fatalf("right after this instance's change: directory view %d (before %d), computed %d times", third, second, dirRuns.Load())
	}
	// Another instance's change waits for its notification, which the
	// held listener keeps back: the view stays what it was.
	e.importCourses(e.b, "C3")
	if got := get(dirKey, e.readDirectory(&dirRuns)); got != third {
		t.Fatalf("directory view %d before the notification of another instance's change, want %d", got, third)
	}
}
