package database

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/learnlens/learnlens/migrations"
)

// Migrate runs a goose command ("up", "down", "status") against url as the
// user url names, which must own the schema. It writes a line per
// migration to out.
func Migrate(ctx context.Context, url, command string, out io.Writer) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	// Two instances started with --dev, or two operators, may migrate at
	// once: goose holds a PostgreSQL advisory lock for the duration, and
	// the second finds nothing left to do.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	switch command {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(out, "migrated up %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(out, "migrated down %s\n", r.Source.Path)
	case "status":
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		for _, s := range st {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(out, "%-8s %-40s %s\n", strconv.FormatInt(s.Source.Version, 10), s.Source.Path, applied)
		}
	default:
		return fmt.Errorf("unknown migrate command %q: use up, down or status", command)
	}
	return nil
}

// Analyze refreshes the planner's statistics of every table, connecting as
// url's user (the tables' owner; the app's role may not), e.g. after a
// bulk load.
func Analyze(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
