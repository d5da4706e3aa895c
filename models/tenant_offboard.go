package models

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Offboarding errors.
var (
	// ErrTenantNotSuspended refuses to delete a tenant that is active.
	ErrTenantNotSuspended = errors.New("the tenant must be suspended before it is deleted")
	// ErrDeleteConfirmation refuses a deletion whose typed confirmation is
	// not the tenant's address.
	ErrDeleteConfirmation = errors.New("the confirmation is not the tenant's address")
)

// AuditTenantDeleted is the platform log's one entry about a deleted
// tenant (written by the database function delete_tenant, migration 00020).
const AuditTenantDeleted = "tenant.deleted"

// AuditTenantArchived records a platform admin's export of a whole tenant.
const AuditTenantArchived = "tenant.archive_exported"

// Delete deletes customer tenant id for good, with every row of every
// table that has a tenant_id, and the platform log's entries about it,
// leaving one platform log entry that says who deleted it (migration 00020).
// confirm must be the tenant's slug, and the tenant must be suspended. It
// returns the number of rows deleted per table, and tells every instance
// that the tenant changed (its hosts become unknown).
func (s *TenantStore) Delete(ctx context.Context, id int64, confirm string, by Creator, ip, requestID string) (map[string]int64, error) {
	var rows map[string]int64
	err := s.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var counts []byte
		err := tx.QueryRow(ctx, `SELECT delete_tenant($1, $2, $3, $4, $5, $6)`, id, confirm, by.ID, by.Email, ip, requestID).Scan(&counts)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch pgErr.Code {
			case "P0002": // no_data_found
				return ErrNotFound
			case "55000": // object_not_in_prerequisite_state
				return ErrTenantNotSuspended
			case "22023": // invalid_parameter_value
				return ErrDeleteConfirmation
			}
		}
		if err != nil {
			return fmt.Errorf("delete tenant %d: %w", id, err)
		}
		return json.Unmarshal(counts, &rows)
	})
	if err != nil {
		return nil, err
	}
	return rows, announce(ctx, s.db, tenantChanged(id))
}

// ArchiveWriter creates the files of an archive one after another, each
// written before the next is created (archive/zip's Writer is one).
type ArchiveWriter interface {
	Create(name string) (io.Writer, error)
}

// ArchiveInfo describes the tenant in an archive's tenant.json.
type ArchiveInfo struct {
	ID              int64     `json:"id"`
	Slug            string    `json:"slug"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	TimeZone        string    `json:"time_zone"`
	BrandColor      string    `json:"brand_color"`
	RequireAdminMFA bool      `json:"require_admin_mfa"`
	XAPIRate        *int      `json:"xapi_rate"`
	XAPIBurst       *int      `json:"xapi_burst"`
	XAPIConcurrency *int      `json:"xapi_concurrency"`
	CreatedAt       time.Time `json:"created_at"`
	EmailDomains    []string  `json:"email_domains"`
	Hosts           []string  `json:"hosts"`
	HasLogo         bool      `json:"has_logo"`
	ExportedAt      time.Time `json:"exported_at"`
	ExportedBy      string    `json:"exported_by"`
}

// archivePart is one table file of a tenant's archive: a CSV with a header
// of the query's column names, or NDJSON with one JSON value (the query's
// only column, as text) a line. Queries run under the tenant's Row Level
// Security and name the tenant too ($1), as every query does
// (docs/SCALING.md); every value is text.
type archivePart struct {
	name, query string
}

// archiveParts are the archive's table files, in order.
var archiveParts = []archivePart{
	{"people.csv", `SELECT l.id::text, l.employee_id, l.email, l.name, l.department, l.location, l.job_title,
		l.manager_id::text, m.employee_id AS manager_employee_id, m.email AS manager_email, l.hire_date::text,
		l.status, l.rostered::text, l.created_at::text, l.updated_at::text
		FROM learners l LEFT JOIN learners m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id WHERE l.tenant_id = $1 ORDER BY l.id`},
	{"people_identities.csv", `SELECT learner_id::text, actor_key FROM learner_identities WHERE tenant_id = $1 ORDER BY learner_id, actor_key`},
	{"users.csv", `SELECT id::text, email, name, role, status, learner_id::text, (totp_enabled_at IS NOT NULL)::text AS mfa_enabled,
		last_login_at::text, created_at::text FROM users WHERE tenant_id = $1 ORDER BY id`},
	{"courses.csv", `SELECT id::text, activity_iri, code, title, category, duration_minutes::text, required::text,
		catalogued::text, created_at::text, updated_at::text FROM courses WHERE tenant_id = $1 ORDER BY id`},
	{"enrolments.csv", `SELECT course_id::text, learner_id::text, status, enrolled_at::text, started_at::text,
		completed_at::text, passed::text, passed_at::text, best_scaled::text, attempts::text, due_at::text,
		last_activity_at::text FROM enrollments WHERE tenant_id = $1 ORDER BY course_id, learner_id`},
	{"compliance_requirements.csv", `SELECT id::text, course_id::text, audience::text, due_days::text, due_from,
		recertify_months::text, created_at::text FROM compliance_requirements WHERE tenant_id = $1 ORDER BY id`},
	{"compliance_assignments.csv", `SELECT requirement_id::text, learner_id::text, assigned_on::text, due_on::text,
		completed_at::text, expires_on::text FROM compliance_assignments WHERE tenant_id = $1 ORDER BY requirement_id, learner_id`},
	{"statements.ndjson", `SELECT statement::text FROM xapi_statements WHERE tenant_id = $1 ORDER BY stored, seq`},
	{"voided_statements.csv", `SELECT statement_id::text, voided_by::text FROM xapi_voided WHERE tenant_id = $1 ORDER BY statement_id`},
	{"xapi_documents.ndjson", `SELECT json_build_object('resource', resource, 'activity_id', activity_id,
		'agent_key', agent_key, 'registration', registration, 'document_id', document_id, 'content_type', content_type,
		'etag', etag, 'updated', updated, 'content_base64', encode(content, 'base64'))::text
		FROM xapi_documents WHERE tenant_id = $1 ORDER BY resource, activity_id, agent_key, registration, document_id`},
	{"xapi_attachments.ndjson", `SELECT json_build_object('sha2', sha2, 'content_type', content_type, 'length', length,
		'stored', stored, 'content_base64', encode(content, 'base64'))::text FROM xapi_attachments WHERE tenant_id = $1 ORDER BY sha2`},
	{"import_files.csv", `SELECT id::text, kind, filename, encode(sha256, 'hex') AS sha256, length(content)::text AS bytes,
		uploaded_at::text, uploaded_by, mode, outcome, rows_total::text, rows_applied::text
		FROM import_files WHERE tenant_id = $1 ORDER BY id`},
	{"import_jobs.csv", `SELECT id::text, kind, filename, mode, state, created_at::text, created_by, rows_total::text,
		rows_done::text, finished_at::text, import_file_id::text, error FROM import_jobs WHERE tenant_id = $1 ORDER BY id`},
	{"audit_log.csv", `SELECT id::text, at::text, actor_user_id::text, actor_email, action, target, ip, request_id,
		details::text FROM audit_log WHERE tenant_id = $1 ORDER BY at, id`},
}

// ArchiveManifest is an archive's last file, manifest.json: what each file
// holds and whether the archive is whole.
type ArchiveManifest struct {
	Format   string           `json:"format"`
	Complete bool             `json:"complete"`
	Rows     map[string]int64 `json:"rows"`
}

// ArchiveFormat names the layout of a tenant archive.
const ArchiveFormat = "learnlens-tenant-archive/1"

// WriteArchive writes the whole of tenant info.ID into w: tenant.json,
// then one file per table, then manifest.json. It reads one snapshot of
// the tenant (REPEATABLE READ, under the tenant's own Row Level Security,
// so no other tenant's row can enter it) and streams every table row by
// row, so its memory does not grow with the tenant. text is applied to
// every CSV cell (the exports' formula neutralisation).
func (s *TenantStore) WriteArchive(ctx context.Context, info ArchiveInfo, w ArchiveWriter, text func(string) string) (ArchiveManifest, error) {
	m := ArchiveManifest{Format: ArchiveFormat, Rows: map[string]int64{}}
	err := s.db.TenantSnapshot(ctx, info.ID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT
			coalesce((SELECT array_agg(domain ORDER BY domain) FROM tenant_domains WHERE tenant_id = $1 AND kind = 'email'), '{}'),
			coalesce((SELECT array_agg(domain ORDER BY domain) FROM tenant_domains WHERE tenant_id = $1 AND kind = 'host'), '{}'),
			EXISTS (SELECT FROM tenant_logos WHERE tenant_id = $1)`, info.ID).Scan(&info.EmailDomains, &info.Hosts, &info.HasLogo)
		if err != nil {
			return fmt.Errorf("read tenant domains: %w", err)
		}
		f, err := w.Create("tenant.json")
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return err
		}
		for _, p := range archiveParts {
			n, err := writePart(ctx, tx, info.ID, p, w, text)
			if err != nil {
				return fmt.Errorf("archive %s: %w", p.name, err)
			}
			m.Rows[p.name] = n
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	m.Complete = true
	f, err := w.Create("manifest.json")
	if err != nil {
		return m, err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	return m, enc.Encode(m)
}

// writePart writes one table file, returning its number of rows.
func writePart(ctx context.Context, tx pgx.Tx, tenantID int64, p archivePart, w ArchiveWriter, text func(string) string) (int64, error) {
	f, err := w.Create(p.name)
	if err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, p.query, tenantID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	ndjson := strings.HasSuffix(p.name, ".ndjson")
	var cw *csv.Writer
	if !ndjson {
		cw = csv.NewWriter(f)
		header := make([]string, len(fields))
		for i, fd := range fields {
			header[i] = fd.Name
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
	}
	vals := make([]*string, len(fields))
	dest := make([]any, len(fields))
	for i := range vals {
		dest[i] = &vals[i]
	}
	rec := make([]string, len(fields))
	var n int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		if ndjson {
			if vals[0] == nil {
				continue
			}
			if _, err := io.WriteString(f, *vals[0]+"\n"); err != nil {
				return n, err
			}
		} else {
			for i, v := range vals {
				rec[i] = ""
				if v == nil {
					continue
				}
				// Numbers stay as they are ("-0.5" is a score, not a
				// formula); other text is neutralised.
				if _, err := strconv.ParseFloat(*v, 64); err == nil {
					rec[i] = *v
				} else {
					rec[i] = text(*v)
				}
			}
			if err := cw.Write(rec); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}
