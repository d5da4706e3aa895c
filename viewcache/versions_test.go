package viewcache_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/realtime"
	"github.com/learnlens/learnlens/viewcache"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// instance is one LearnLens instance on the test database: its pool,
// pipeline, listener (running unless asked otherwise) and Versions.
type instance struct {
	db       *database.DB
	p        *pipeline.Pipeline
	listener *realtime.Listener
	versions *viewcache.Versions
	// directory is the instance's directory versions.
	directory *viewcache.Versions
}

// env is a test database with one tenant, as seen by instance A; B is
// another instance writing to the same database.
type env struct {
	t      *testing.T
	url    string // superuser
	tenant int64
	a, b   *instance
	// held and hold stall the listener's goroutine (see holdListener).
	held, hold chan struct{}
}

func newEnv(t *testing.T, listen bool) *env {
	t.Helper()
	e := &env{t: t, url: testdb.NewURL(t), held: make(chan struct{}), hold: make(chan struct{})}
	e.a, e.b = e.instance(listen), e.instance(false)
	ten, err := models.NewTenantStore(e.a.db).Create(context.Background(), models.NewTenant{Slug: "t", Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = ten.ID
	return e
}

func (e *env) instance(listen bool) *instance {
	e.t.Helper()
	db := testdb.Open(e.t, e.url)
	in := &instance{db: db, p: pipeline.New(db), listener: realtime.NewListener(db, slog.New(slog.DiscardHandler))}
	in.versions = viewcache.NewVersions(db, in.listener)
	in.directory = viewcache.NewDirectoryVersions(db, in.listener)
	in.p.OnCommit(in.versions.Observe)
	in.p.OnDirectoryCommit(in.directory.Observe)
	in.listener.Handle(holdChannel, func(string) {
		e.held <- struct{}{}
		<-e.hold
	})
	if listen {
		ctx, cancel := context.WithCancel(context.Background())
		e.t.Cleanup(cancel)
		go in.listener.Run(ctx)
		e.waitConnected(in, 1)
	}
	return in
}

const holdChannel = "viewcache_test_hold"

// holdListener stalls A's listener, still connected, until the returned
// func is called: notifications queue up undelivered meanwhile.
func (e *env) holdListener() (release func()) {
	e.t.Helper()
	if err := e.b.db.Notify(context.Background(), holdChannel, ""); err != nil {
		e.t.Fatal(err)
	}
	select {
	case <-e.held:
	case <-time.After(10 * time.Second):
		e.t.Fatal("listener not held")
	}
	return func() { close(e.hold) }
}

// waitConnected waits until in's listener is connected in generation gen.
func (e *env) waitConnected(in *instance, gen int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !in.listener.Connected() || in.listener.Generation() != gen {
		if time.Now().After(deadline) {
			e.t.Fatalf("listener not connected in generation %d", gen)
		}
		time.Sleep(time.Millisecond)
	}
}

// commit makes a new gold version through instance in's pipeline.
func (e *env) commit(in *instance) {
	e.t.Helper()
	if err := in.p.RebuildGold(context.Background(), e.tenant); err != nil {
		e.t.Fatal(err)
	}
}

// current is A's Versions.Current.
func (e *env) current() viewcache.Version {
	e.t.Helper()
	v, err := e.a.versions.Current(context.Background(), e.tenant)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// eventually waits until A's current version is n.
func (e *env) eventually(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v := e.current(); v.N != n; v = e.current() {
		if time.Now().After(deadline) {
			e.t.Fatalf("current version %d, want %d", v.N, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// committed reads the version and commit time from the database.
func (e *env) committed() viewcache.Version {
	e.t.Helper()
	ctx := context.Background()
	var v viewcache.Version
	err := e.a.db.TenantTx(ctx, e.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT version, committed FROM gold_freshness WHERE tenant_id = $1`, e.tenant).Scan(&v.N, &v.At)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// superuser runs sql on the test database as its superuser, bypassing the
// pipeline (and so sending no notification).
func (e *env) superuser(query string, args ...any) {
	e.t.Helper()
	db, err := sql.Open("pgx", e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		e.t.Fatal(err)
	}
}

// TestVersionsLearnFromOtherInstancesNotifications: a commit on another
// instance reaches this one by NOTIFY; once a tenant is known, Current
// believes notifications (it does not read the database again), and a
// late notification of an older version never moves it back.
func TestVersionsLearnFromOtherInstancesNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	var mu sync.Mutex
	announced := map[int64][]int64{}
	e.a.versions.Subscribe(func(tenant int64, v viewcache.Version) {
		mu.Lock()
		defer mu.Unlock()
		announced[tenant] = append(announced[tenant], v.N)
	})
	if v := e.current(); v.N != 0 || !v.At.IsZero() {
		t.Fatalf("version of a tenant with no commits: %+v", v)
	}
	before := time.Now()
	e.commit(e.b)
	e.eventually(1)
	if v := e.current(); v.At.Before(before) || v.At.After(time.Now()) {
		t.Errorf("version 1 at %v: want the notification's arrival, after %v", v.At, before)
	}
	// Versions the database does not hold: only the notification can tell.
	ctx := context.Background()
	if err := e.b.db.Notify(ctx, "learnlens_gold", fmt.Sprintf("%d:100", e.tenant)); err != nil {
		t.Fatal(err)
	}
	e.eventually(100)
	if err := e.b.db.Notify(ctx, "learnlens_gold", fmt.Sprintf("%d:50", e.tenant)); err != nil {
		t.Fatal(err)
	}
	// Notifications arrive in order: once 101 is seen, 50 was handled.
	if err := e.b.db.Notify(ctx, "learnlens_gold", fmt.Sprintf("%d:101", e.tenant+1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := e.a.versions.Current(ctx, e.tenant+1)
		if err != nil {
			t.Fatal(err)
		}
		if v.N == 101 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("notification for another tenant not delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := e.current(); v.N != 100 {
		t.Errorf("a late notification moved the version back to %d", v.N)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := fmt.Sprint(announced[e.tenant]); got != "[0 1 100]" {
		t.Errorf("Subscribe got %s for the tenant, want [0 1 100]", got)
	}
	// The other tenant may first be read from the database (version 0),
	// depending on whether its notification was handled before the read.
	if got := fmt.Sprint(announced[e.tenant+1]); got != "[101]" && got != "[0 101]" {
		t.Errorf("Subscribe got %s for the other tenant, want [101] or [0 101]", got)
	}
}

// TestVersionsLearnFromThePipelineHook: this instance's own commit is
// known as soon as the write returns, before its notification arrives;
// Observe raises what is known and never lowers it. Another instance's
// commit waits for its notification.
func TestVersionsLearnFromThePipelineHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.current() // known, and the listener is connected: no more reads
	release := e.holdListener()
	e.commit(e.a)
	if v := e.current(); v.N != 1 {
		t.Fatalf("version %d right after this instance's commit, want 1", v.N)
	}
	e.commit(e.b)
	if v := e.current(); v.N != 1 {
		t.Fatalf("version %d: another instance's commit should wait for its notification", v.N)
	}
	release()
	e.eventually(2)
	e.a.versions.Observe(e.tenant, 7) // the database still says 2
	if v := e.current(); v.N != 7 {
		t.Fatalf("version %d after Observe(7), want 7", v.N)
	}
	e.a.versions.Observe(e.tenant, 3)
	if v := e.current(); v.N != 7 {
		t.Fatalf("version %d after Observe(3), want it to stay 7", v.N)
	}
}

// TestVersionsReadTheDatabaseWhenNotListening: with the listener not
// connected, notifications may be lost, so Current reads the database
// every time, with the commit's own time.
func TestVersionsReadTheDatabaseWhenNotListening(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	if v := e.current(); v.N != 0 {
		t.Fatalf("version %d, want 0", v.N)
	}
	for n := int64(1); n <= 3; n++ {
		e.commit(e.b) // another instance: no hook here, and nobody listening
		want := e.committed()
		if v := e.current(); v.N != n || !v.At.Equal(want.At) {
			t.Fatalf("current %+v after commit %d, want %+v (the database's)", v, n, want)
		}
	}
}

// TestVersionsForgetOnReconnect: a commit whose notification was lost
// (made here without one) is not seen while the listener is trusted, and
// is after the listener reconnects, which may have missed anything.
func TestVersionsForgetOnReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.commit(e.b)
	e.eventually(1)
	e.superuser(`UPDATE gold_freshness SET version = 5, committed = clock_timestamp() WHERE tenant_id = $1`, e.tenant)
	if v := e.current(); v.N != 1 {
		t.Fatalf("version %d: a connected listener's tenant should not be read again", v.N)
	}
	e.superuser(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`)
	e.waitConnected(e.a, 2)
	if v := e.current(); v.N != 5 {
		t.Fatalf("version %d after reconnecting, want 5 from the database", v.N)
	}
	e.commit(e.b)
	e.eventually(6)
}
