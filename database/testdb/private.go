package testdb

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/devdb"
)

// Private starts a PostgreSQL cluster of the test's own in a new
// temporary directory, with database learnlens migrated and
// pg_stat_statements created in it, and returns the cluster and the
// database's superuser URL (for Open). The cluster stops and its
// directory goes when the test ends. For tests that need a server to
// themselves, such as a primary to make a replica of (a base backup
// copies the whole cluster, and the shared test server holds every other
// test's databases).
func Private(t testing.TB) (*devdb.Cluster, string) {
	t.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "learnlens-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Traversable by the postgres user, as devdb runs the server when
	// the tests run as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(dir, "primary")})
	if err != nil {
		t.Fatalf("testdb: private cluster: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.EnsureDatabase(ctx, "learnlens"); err != nil {
		t.Fatal(err)
	}
	url := c.URL("learnlens")
	if err := database.Migrate(ctx, url, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		t.Fatal(err)
	}
	return c, url
}

// Replica makes a streaming replica of primary, a cluster from Private,
// in a directory beside it (devdb.StartReplica, with opts' other fields),
// and stops it when the test ends.
func Replica(t testing.TB, primary *devdb.Cluster, opts devdb.Options) *devdb.Cluster {
	t.Helper()
	opts.Dir = filepath.Join(filepath.Dir(primary.Dir), "replica")
	r, err := devdb.StartReplica(context.Background(), primary, opts)
	if err != nil {
		t.Fatalf("testdb: replica: %v", err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// WaitReplayed waits until db's replica has replayed all its primary has
// written, for up to within.
func WaitReplayed(t testing.TB, db *database.DB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lag, err := db.ReplicaLag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if lag == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: the replica is still %d bytes behind after %s", lag, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
