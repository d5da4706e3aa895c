package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// redateEvents moves each learning event to its day in the tenant's new
// time zone ($2), with the learner's org data of that day (point-in-time
// hierarchy), as insertEventsSQL would have stored it.
const redateEvents = `
UPDATE learning_events e SET day = x.day, manager_at = x.manager_id, department_at = x.department
FROM (
    SELECT e2.statement_id, d.day, h.manager_id, coalesce(h.department, '') AS department
    FROM learning_events e2
    CROSS JOIN LATERAL (SELECT (e2.ts AT TIME ZONE $2)::date AS day) d
    LEFT JOIN LATERAL (
        SELECT manager_id, department FROM learner_history h
        WHERE h.tenant_id = $1 AND h.learner_id = e2.learner_id AND h.valid_from <= d.day AND d.day < h.valid_to
        ORDER BY h.valid_from DESC LIMIT 1) h ON true
    WHERE e2.tenant_id = $1
) x
WHERE e.tenant_id = $1 AND e.statement_id = x.statement_id AND e.day <> x.day`

// ErrUnknownTimeZone is a time zone name that Go's or PostgreSQL's time
// zone database does not know (both must: each computes local dates).
var ErrUnknownTimeZone = errors.New("not a time zone of the tz database (like Europe/London)")

// CheckTimeZone returns ErrUnknownTimeZone unless both Go and PostgreSQL
// know tz (their tz databases may differ), so that a form changing other
// fields too can refuse it before it saves any of them.
func (p *Pipeline) CheckTimeZone(ctx context.Context, tz string) error {
	if err := knownToGo(tz); err != nil {
		return err
	}
	return p.db.PlatformTx(ctx, func(tx pgx.Tx) error { return knownToPostgres(ctx, tx, tz) })
}

// knownToGo returns ErrUnknownTimeZone unless Go knows tz.
func knownToGo(tz string) error {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return fmt.Errorf("time zone %q: %w", tz, ErrUnknownTimeZone)
	}
	return nil
}

// knownToPostgres returns ErrUnknownTimeZone unless PostgreSQL knows tz.
func knownToPostgres(ctx context.Context, tx pgx.Tx, tz string) error {
	var known bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)`, tz).Scan(&known); err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("time zone %q: %w", tz, ErrUnknownTimeZone)
	}
	return nil
}

// SetTimeZone makes tz (an IANA name) the tenant's time zone and derives
// again, in the same transaction under the tenant's pipeline lock, what
// depends on it: each learning event's local day, the daily activity,
// compliance dates and every gold row, as a new gold version. On a large
// tenant this rewrites much of silver and takes as long as a gold rebuild.
func (p *Pipeline) SetTimeZone(ctx context.Context, tenantID int64, tz string) error {
	if err := knownToGo(tz); err != nil {
		return err
	}
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, old string) error {
		if old == tz {
			return nil
		}
		if err := knownToPostgres(ctx, tx, tz); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = on`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tenants SET time_zone = $2, updated_at = now() WHERE id = $1`, tenantID, tz); err != nil {
			return fmt.Errorf("set time zone: %w", err)
		}
		if _, err := tx.Exec(ctx, redateEvents, tenantID, tz); err != nil {
			return fmt.Errorf("move events to their local day: %w", err)
		}
		for _, q := range []string{`DELETE FROM daily_activity WHERE tenant_id = $1`,
			`INSERT INTO daily_activity (tenant_id, learner_id, day, statements, duration_ms)
				SELECT tenant_id, learner_id, day, count(*), sum(duration_ms) FROM learning_events
				WHERE tenant_id = $1 AND NOT voided GROUP BY 1, 2, 3`} {
			if _, err := tx.Exec(ctx, q, tenantID); err != nil {
				return fmt.Errorf("rebuild daily activity: %w", err)
			}
		}
		if err := refreshTenant(ctx, tx, tenantID, tz); err != nil {
			return err
		}
		return newVersion(ctx, tx, tenantID, &version)
	})
	if err != nil {
		return err
	}
	p.committed(tenantID, version)
	return nil
}
