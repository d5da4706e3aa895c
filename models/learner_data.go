package models

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/xapi"
)

// PersonSummary is what the data-rights page shows of a person before an
// admin acts: who they are and how much data LearnLens holds of them.
type PersonSummary struct {
	ID         int64
	Name       string
	Email      string
	EmployeeID string
	Rostered   bool
	Pseudonym  string // "" unless pseudonymised
	Statements int64  // stored statements they are the actor of
	Documents  int64  // their xAPI State and Agent Profile documents
	Reports    int64  // people whose solid-line manager they are
	UserEmail  string // the user account linked to the record, if any
}

// personKeysSQL is a learner's ($2) actor keys.
const personKeysSQL = `SELECT coalesce(array_agg(actor_key), '{}') FROM learner_identities WHERE tenant_id = $1 AND learner_id = $2`

// personKeys returns the actor keys a learner's statements and documents
// are stored under (their identities and the mbox of their email),
// ErrNotFound for a learner the tenant does not have.
func personKeys(ctx context.Context, tx pgx.Tx, tenantID, learnerID int64) ([]string, error) {
	var email string
	err := tx.QueryRow(ctx, `SELECT coalesce(email, '') FROM learners WHERE tenant_id = $1 AND id = $2`, tenantID, learnerID).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := tx.QueryRow(ctx, personKeysSQL, tenantID, learnerID).Scan(&keys); err != nil {
		return nil, err
	}
	if email != "" {
		if k := (xapi.Agent{Mbox: "mailto:" + email}).Key(); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Summary returns what the tenant holds of one person, ErrNotFound for a
// learner id it does not have.
func (s *LearnerStore) Summary(ctx context.Context, tenantID, learnerID int64) (PersonSummary, error) {
	p := PersonSummary{ID: learnerID}
	err := s.db.TenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		keys, err := personKeys(ctx, tx, tenantID, learnerID)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT l.name, coalesce(l.email, ''), coalesce(l.employee_id, ''), l.rostered, coalesce(l.pseudonym, ''),
				(SELECT count(*) FROM xapi_statements WHERE tenant_id = $1 AND actor_key = ANY($3)),
				(SELECT count(*) FROM xapi_documents WHERE tenant_id = $1 AND resource IN ('state', 'agent_profile') AND agent_key = ANY($3)),
				(SELECT count(*) FROM learners r WHERE r.tenant_id = $1 AND r.manager_id = l.id),
				coalesce((SELECT email FROM users u WHERE u.tenant_id = $1 AND u.learner_id = l.id), '')
			FROM learners l WHERE l.tenant_id = $1 AND l.id = $2`, tenantID, learnerID, keys).
			Scan(&p.Name, &p.Email, &p.EmployeeID, &p.Rostered, &p.Pseudonym, &p.Statements, &p.Documents, &p.Reports, &p.UserEmail)
	})
	return p, err
}

// Exists reports whether the tenant has the learner.
func (s *LearnerStore) Exists(ctx context.Context, tenantID, learnerID int64) (bool, error) {
	var ok bool
	err := s.db.TenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM learners WHERE tenant_id = $1 AND id = $2)`, tenantID, learnerID).Scan(&ok)
	})
	return ok, err
}

// learnerProfileSQL is a learner's record, identities and effective-dated
// history as one JSON document.
const learnerProfileSQL = `
SELECT jsonb_pretty(jsonb_build_object(
    'id', l.id, 'name', l.name, 'email', l.email, 'employee_id', l.employee_id,
    'department', l.department, 'location', l.location, 'job_title', l.job_title,
    'manager', (SELECT jsonb_build_object('id', m.id, 'name', m.name) FROM learners m WHERE m.tenant_id = l.tenant_id AND m.id = l.manager_id),
    'hire_date', l.hire_date, 'status', l.status, 'rostered', l.rostered, 'pseudonym', l.pseudonym,
    'created_at', l.created_at, 'updated_at', l.updated_at,
    'xapi_identities', coalesce((SELECT jsonb_agg(actor_key ORDER BY actor_key) FROM learner_identities i
        WHERE i.tenant_id = l.tenant_id AND i.learner_id = l.id), '[]'),
    'history', coalesce((SELECT jsonb_agg(jsonb_build_object('valid_from', h.valid_from, 'valid_to', h.valid_to,
            'department', h.department, 'location', h.location, 'job_title', h.job_title, 'manager_id', h.manager_id,
            'dotted_manager_ids', h.dotted_manager_ids) ORDER BY h.valid_from)
        FROM learner_history h WHERE h.tenant_id = l.tenant_id AND h.learner_id = l.id), '[]')))
FROM learners l WHERE l.tenant_id = $1 AND l.id = $2`

// learnerEnrolmentsSQL is a learner's enrolments as a JSON array.
const learnerEnrolmentsSQL = `
SELECT jsonb_pretty(coalesce(jsonb_agg(jsonb_build_object(
    'course_id', c.id, 'course', c.title, 'activity_id', c.activity_iri, 'code', c.code,
    'status', e.status, 'enrolled_at', e.enrolled_at, 'started_at', e.started_at, 'completed_at', e.completed_at,
    'passed', e.passed, 'best_score', e.best_scaled, 'attempts', e.attempts, 'due_on', e.due_at,
    'last_activity_at', e.last_activity_at) ORDER BY e.enrolled_at, c.id), '[]'))
FROM enrollments e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
WHERE e.tenant_id = $1 AND e.learner_id = $2`

// learnerAssignmentsSQL is a learner's compliance assignments as a JSON
// array.
const learnerAssignmentsSQL = `
SELECT jsonb_pretty(coalesce(jsonb_agg(jsonb_build_object(
    'requirement_id', a.requirement_id, 'course', c.title, 'activity_id', c.activity_iri,
    'assigned_on', a.assigned_on, 'due_on', a.due_on, 'completed_at', a.completed_at, 'expires_on', a.expires_on)
    ORDER BY a.due_on, a.requirement_id), '[]'))
FROM compliance_assignments a
JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id
WHERE a.tenant_id = $1 AND a.learner_id = $2`

// learnerStatementsSQL is the stored statements of a learner: those whose
// actor is one of their keys ($3) and those the pipeline read as theirs.
const learnerStatementsSQL = `
SELECT statement::text FROM xapi_statements s
WHERE s.tenant_id = $1 AND (s.actor_key = ANY($3) OR s.id IN (
    SELECT statement_id FROM learning_events WHERE tenant_id = $1 AND learner_id = $2))
ORDER BY s.stored, s.seq`

// unsafeName finds what may not appear in a file name inside the archive.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// WriteData writes everything the tenant holds of a learner as a ZIP
// archive to w: profile.json, enrolments.json, compliance.json,
// statements.ndjson (each stored statement as the LRS holds it, one per
// line, oldest first), and their xAPI State and Agent Profile documents
// under documents/ with an index. It reads one snapshot and streams, so a
// learner with many statements costs no memory. ErrNotFound (before
// anything is written) for a learner the tenant does not have.
func (s *LearnerStore) WriteData(ctx context.Context, tenantID, learnerID int64, w io.Writer) error {
	return s.db.TenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		keys, err := personKeys(ctx, tx, tenantID, learnerID)
		if err != nil {
			return err
		}
		z := zip.NewWriter(w)
		for _, f := range []struct{ name, sql string }{
			{"profile.json", learnerProfileSQL},
			{"enrolments.json", learnerEnrolmentsSQL},
			{"compliance.json", learnerAssignmentsSQL},
		} {
			var doc string
			if err := tx.QueryRow(ctx, f.sql, tenantID, learnerID).Scan(&doc); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			if err := writeZipFile(z, f.name, []byte(doc+"\n")); err != nil {
				return err
			}
		}
		if err := writeStatements(ctx, tx, z, tenantID, learnerID, keys); err != nil {
			return err
		}
		if err := writeDocuments(ctx, tx, z, tenantID, keys); err != nil {
			return err
		}
		return z.Close()
	})
}

func writeZipFile(z *zip.Writer, name string, data []byte) error {
	f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}

func writeStatements(ctx context.Context, tx pgx.Tx, z *zip.Writer, tenantID, learnerID int64, keys []string) error {
	f, err := z.CreateHeader(&zip.FileHeader{Name: "statements.ndjson", Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, learnerStatementsSQL, tenantID, learnerID, keys)
	if err != nil {
		return fmt.Errorf("statements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		// The raw text of the column, without a copy into a string.
		line := rows.RawValues()[0]
		if _, err := f.Write(line); err != nil {
			return err
		}
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// documentsIndexSQL lists a learner's documents for documents/index.json.
const documentsIndexSQL = `
SELECT resource, activity_id, registration, document_id, content_type, updated, content
FROM xapi_documents WHERE tenant_id = $1 AND resource IN ('state', 'agent_profile') AND agent_key = ANY($2)
ORDER BY resource, activity_id, registration, document_id`

func writeDocuments(ctx context.Context, tx pgx.Tx, z *zip.Writer, tenantID int64, keys []string) error {
	rows, err := tx.Query(ctx, documentsIndexSQL, tenantID, keys)
	if err != nil {
		return fmt.Errorf("documents: %w", err)
	}
	defer rows.Close()
	type entry struct {
		File         string    `json:"file"`
		Resource     string    `json:"resource"`
		ActivityID   string    `json:"activity_id,omitempty"`
		Registration string    `json:"registration,omitempty"`
		DocumentID   string    `json:"document_id"`
		ContentType  string    `json:"content_type"`
		Updated      time.Time `json:"updated"`
	}
	index := []entry{}
	for n := 1; rows.Next(); n++ {
		var e entry
		var content []byte
		if err := rows.Scan(&e.Resource, &e.ActivityID, &e.Registration, &e.DocumentID, &e.ContentType, &e.Updated, &content); err != nil {
			return err
		}
		e.File = fmt.Sprintf("documents/%d-%s", n, unsafeName.ReplaceAllString(e.DocumentID, "_"))
		if err := writeZipFile(z, e.File, content); err != nil {
			return err
		}
		index = append(index, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	return writeZipFile(z, "documents/index.json", data)
}
