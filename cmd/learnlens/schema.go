package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/migrations"
)

// During a rolling upgrade the previous release and this one run on one
// schema (docs/OPERATIONS.md, "Migrations during a rolling upgrade"):
// `learnlens migrate up` applies the new release's expand migrations while
// the previous release serves, then the instances are replaced one by one.
// So serve accepts a schema newer than it knows (it is then the previous
// release) and refuses one older than it needs; migrate leaves a newer
// schema alone.

// knownSchema is the newest migration this release carries.
func knownSchema() int64 {
	names, _ := fs.Glob(migrations.FS, "*.sql")
	var newest int64
	for _, name := range names {
		n, _, _ := strings.Cut(name, "_")
		if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > newest {
			newest = v
		}
	}
	return newest
}

// schemaVersion is the newest migration applied to the database q reads.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return 0, err
	}
	return v.Int64, nil
}

// checkSchema is serve's check before it listens: the database must have
// every migration this release knows; a newer schema is served with a
// warning, as the previous release during a rolling upgrade.
func checkSchema(ctx context.Context, db *database.DB, log *slog.Logger) error {
	known := knownSchema()
	have, err := schemaVersion(ctx, db.SQL())
	if err != nil {
		return fmt.Errorf("read the schema's version: %w (this release needs migration %d: run `learnlens migrate up` with it first)", err, known)
	}
	switch {
	case have < known:
		return fmt.Errorf("the database schema is at migration %d but this release (%s) needs %d: run `learnlens migrate up` with this release first (docs/OPERATIONS.md, \"Migrations during a rolling upgrade\")", have, version, known)
	case have > known:
		log.Warn("the database schema is newer than this release knows: serving as the previous release of a rolling upgrade",
			"schema", have, "known", known, "version", version)
	}
	return nil
}

// migrate runs a migrate command with the owner's URL, leaving alone a
// schema that a newer release has migrated: up has nothing to do, and down
// would roll back a migration this release does not have.
func migrate(ctx context.Context, owner, command string, out io.Writer) error {
	if command == "up" || command == "down" {
		conn, err := sql.Open("pgx", owner)
		if err != nil {
			return err
		}
		have, err := schemaVersion(ctx, conn)
		conn.Close()
		if known := knownSchema(); err == nil && have > known {
			if command == "down" {
				return fmt.Errorf("the database schema is at migration %d, newer than this release's %d: roll it back with the release that applied it", have, known)
			}
			fmt.Fprintf(out, "the database schema is at migration %d, newer than this release's %d: nothing to do\n", have, known)
			return nil
		}
	}
	if err := database.Migrate(ctx, owner, command, out); err != nil {
		return err
	}
	if command == "status" {
		return printInstances(ctx, owner, out)
	}
	return nil
}

// instanceInterval is how often an instance reports itself in instances;
// a row not updated for three intervals is an instance that is gone.
const instanceInterval = 10 * time.Second

// reportInstance keeps this instance's row in instances current until ctx
// ends, then deletes it.
func reportInstance(ctx context.Context, db *database.DB, log *slog.Logger, port int) {
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s:%d/%d", host, port, os.Getpid())
	known := knownSchema()
	write := func() {
		err := db.Platform(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(`DELETE FROM instances WHERE seen_at < now() - interval '1 day'`).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO instances (id, version, schema_version) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version, seen_at = now()`,
				id, version, known).Error
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("report this instance", "err", err)
		}
	}
	write()
	tick := time.NewTicker(instanceInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			write()
		case <-ctx.Done():
			end, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			db.Platform(end, func(tx *gorm.DB) error { return tx.Exec(`DELETE FROM instances WHERE id = ?`, id).Error })
			return
		}
	}
}

// printInstances lists the instances that reported themselves lately,
// with the newest migration each one knows.
func printInstances(ctx context.Context, owner string, out io.Writer) error {
	conn, err := sql.Open("pgx", owner)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintln(out, "\nrunning instances (seen in the last 30 s):")
	// A database not yet migrated has no instances table, and no instance
	// can be serving it.
	var table sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('instances')::text`).Scan(&table); err != nil {
		return fmt.Errorf("running instances: %w", err)
	}
	if !table.Valid {
		fmt.Fprintln(out, "  none")
		return nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT id, version, schema_version, seen_at FROM instances
		WHERE seen_at > now() - $1::interval ORDER BY schema_version, id`, (3 * instanceInterval).String())
	if err != nil {
		return fmt.Errorf("running instances: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, v string
		var known int64
		var seen time.Time
		if err := rows.Scan(&id, &v, &known, &seen); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-32s %-24s knows migrations up to %d\n", id, v, known)
		n++
	}
	if n == 0 {
		fmt.Fprintln(out, "  none")
	}
	return rows.Err()
}
