package models

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TenantUsage is what one customer tenant uses of the deployment, as the
// platform admin's tenant list shows it.
type TenantUsage struct {
	ID                 int64
	Slug, Name, Status string
	EmailDomains       []string
	People             int64 // learner records
	Users              int64 // sign-in accounts
	Statements         int64
	Statements24h      int64      // in the hours that began in the last 24 h
	LastStatement      *time.Time // when the newest statement was received
	DatabaseBytes      int64      // estimated (see estimateSizes)
	IngestErrors       int64      // import rows refused with a reason
}

// usageSQL reads every customer tenant's counts. Statement counts come from
// tenant_statement_counts and _hours (kept by a trigger on bronze, see
// migration 00011); people and users are counted on their primary keys.
const usageSQL = `
SELECT t.id, t.slug, t.name, t.status,
    coalesce((SELECT array_agg(d.domain ORDER BY d.domain) FROM tenant_domains d WHERE d.tenant_id = t.id AND d.kind = 'email'), '{}'),
    (SELECT count(*) FROM learners l WHERE l.tenant_id = t.id),
    (SELECT count(*) FROM users u WHERE u.tenant_id = t.id),
    coalesce(c.statements, 0),
    coalesce((SELECT sum(h.statements) FROM tenant_statement_hours h
        WHERE h.tenant_id = t.id AND h.hour > now() - interval '24 hours'), 0),
    CASE WHEN c.statements > 0 THEN c.last_stored END,
    coalesce((SELECT sum(jsonb_array_length(f.report)) FROM import_files f WHERE f.tenant_id = t.id), 0)
FROM tenants t LEFT JOIN tenant_statement_counts c ON c.tenant_id = t.id
WHERE t.kind = 'customer'
ORDER BY t.name, t.id`

// tenantTablesSQL lists the tables that hold tenants' rows (those under
// Row Level Security with a tenant_id column) with their size on disk
// (with indexes and TOAST) and pages.
const tenantTablesSQL = `
SELECT c.oid::regclass::text, pg_total_relation_size(c.oid), c.relpages
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relkind = 'r' AND c.relrowsecurity AND c.relnamespace = 'public'::regnamespace
ORDER BY 1`

// samplePages is how many pages of a large table the size estimate reads:
// a table of more pages is sampled (TABLESAMPLE SYSTEM), a smaller one
// counted whole.
const samplePages = 200

// Usage returns every customer tenant's usage, by name.
func (s *TenantStore) Usage(ctx context.Context) ([]TenantUsage, error) {
	var out []TenantUsage
	err := s.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, usageSQL)
		if err != nil {
			return fmt.Errorf("read usage: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TenantUsage, error) {
			var u TenantUsage
			err := r.Scan(&u.ID, &u.Slug, &u.Name, &u.Status, &u.EmailDomains, &u.People, &u.Users, &u.Statements, &u.Statements24h,
				&u.LastStatement, &u.IngestErrors)
			return u, err
		})
		if err != nil {
			return fmt.Errorf("read usage: %w", err)
		}
		statements := map[int64]int64{}
		for _, u := range out {
			statements[u.ID] = u.Statements
		}
		sizes, err := estimateSizes(ctx, tx, statements)
		if err != nil {
			return err
		}
		for i := range out {
			out[i].DatabaseBytes = sizes[out[i].ID]
		}
		return nil
	})
	return out, err
}

// estimateSizes estimates each tenant's share of the database: for every
// tenant table, its total size (pg_total_relation_size, indexes and TOAST
// included) times the tenant's share of its rows. The share is counted on
// the whole table when it has at most samplePages pages, else on a sample
// of about samplePages pages (TABLESAMPLE SYSTEM), so the estimate costs a
// bounded read per table whatever the tenants' sizes; bronze statements,
// the largest table, are known exactly (statements, from their counters).
func estimateSizes(ctx context.Context, tx pgx.Tx, statements map[int64]int64) (map[int64]int64, error) {
	type table struct {
		name         string
		bytes, pages int64
	}
	rows, err := tx.Query(ctx, tenantTablesSQL)
	if err != nil {
		return nil, fmt.Errorf("list tenant tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.name, &t.bytes, &t.pages)
	})
	if err != nil {
		return nil, fmt.Errorf("list tenant tables: %w", err)
	}
	sizes := map[int64]int64{}
	for _, t := range tables {
		counts := statements
		if t.name != "xapi_statements" {
			if counts, err = tenantRows(ctx, tx, t.name, t.pages); err != nil {
				return nil, err
			}
		}
		var total int64
		for _, n := range counts {
			total += n
		}
		for id, n := range counts {
			if total > 0 {
				sizes[id] += int64(float64(t.bytes) * float64(n) / float64(total))
			}
		}
	}
	return sizes, nil
}

// tenantRows counts the rows of table (of pages pages) per tenant: all of
// them, or a sample of about samplePages pages of a larger table.
func tenantRows(ctx context.Context, tx pgx.Tx, table string, pages int64) (map[int64]int64, error) {
	from := pgx.Identifier{table}.Sanitize()
	if pages > samplePages {
		from += fmt.Sprintf(" TABLESAMPLE SYSTEM (%f)", 100*float64(samplePages)/float64(pages))
	}
	rows, err := tx.Query(ctx, `SELECT tenant_id, count(*) FROM `+from+` GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", table, err)
	}
	counts := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return counts, nil
}
