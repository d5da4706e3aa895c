package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
)

// Import modes: apply the valid rows and report the others, or refuse the
// whole file when any row is bad.
const (
	ModeValidRows    = "valid-rows"
	ModeAllOrNothing = "all-or-nothing"
)

// ImportRequest is one uploaded file to apply to a tenant.
type ImportRequest struct {
	TenantID   int64
	Kind       imports.Kind
	Filename   string
	Data       []byte
	Mode       string // ModeValidRows (default) or ModeAllOrNothing
	DryRun     bool   // check and report, change nothing (not even bronze)
	UploadedBy string
	// Progress, if set, is told the number of rows applied so far, from
	// the import's own goroutine, every progressStep rows or so. The rows
	// are not visible to others until the import commits.
	Progress func(applied int)
}

// progressStep is about how many rows an import applies between two calls
// of ImportRequest.Progress.
const progressStep = 1000

// ImportReport says what an import did (or, for a dry run, would do).
type ImportReport struct {
	Kind    imports.Kind       `json:"kind"`
	File    string             `json:"file"`
	Mode    string             `json:"mode"`
	DryRun  bool               `json:"dry_run"`
	Outcome string             `json:"outcome"` // "applied" or "refused"
	Rows    int                `json:"rows"`
	Applied int                `json:"applied"`
	Changed int                `json:"changed"` // rows that changed silver; 0 when re-importing the same file
	Errors  []imports.RowError `json:"errors"`
	FileID  int64              `json:"file_id,omitempty"` // the upload's import_files row; 0 for a dry run
}

// Summary is one line saying what happened, for the CLI and logs.
func (r ImportReport) Summary() string {
	verb := "applied"
	if r.DryRun {
		verb = "would apply"
	}
	if r.Outcome == "refused" {
		return fmt.Sprintf("%s: refused the whole file (%d rows) because %d rows have errors (mode %s)", r.File, r.Rows, len(r.Errors), r.Mode)
	}
	return fmt.Sprintf("%s: %s %d of %d rows (%d changed anything), %d rows with errors skipped", r.File, verb, r.Applied, r.Rows, r.Changed, len(r.Errors))
}

// ErrUnreadableFile wraps the parser's error for a file that cannot be
// imported at all (empty, not CSV/XLSX, no header, a required column missing).
var ErrUnreadableFile = errors.New("the file cannot be imported")

// errDryRun rolls a dry run's transaction back after its report is made.
var errDryRun = errors.New("dry run")

// Import parses a CSV or XLSX file and applies it. A file that cannot be
// read at all gives an error wrapping the parser's; row problems are in the
// report. In ModeAllOrNothing a file with any bad row changes no silver
// data; in either mode the upload itself is kept in bronze with its report.
func (p *Pipeline) Import(ctx context.Context, req ImportRequest) (rep ImportReport, err error) {
	start := time.Now()
	defer func() {
		outcome := rep.Outcome
		if err != nil {
			outcome = "failed"
		}
		if req.DryRun {
			outcome = "dry-run " + outcome
		}
		p.Metrics.Import(string(req.Kind), outcome, time.Since(start))
	}()
	if req.Mode == "" {
		req.Mode = ModeValidRows
	}
	if req.Mode != ModeValidRows && req.Mode != ModeAllOrNothing {
		return ImportReport{}, fmt.Errorf("import mode %q: use %s or %s", req.Mode, ModeValidRows, ModeAllOrNothing)
	}
	parsed, err := imports.Parse(req.Kind, req.Filename, req.Data)
	if err != nil {
		return ImportReport{}, fmt.Errorf("%w: %w", ErrUnreadableFile, err)
	}
	rep = ImportReport{Kind: req.Kind, File: req.Filename, Mode: req.Mode, DryRun: req.DryRun, Rows: parsed.Rows,
		Errors: append([]imports.RowError{}, parsed.Errors...)}
	var version committedVersions
	err = p.inTenant(ctx, req.TenantID, func(tx pgx.Tx, tz string) error {
		a := &applier{tx: tx, tenantID: req.TenantID, tz: tz, file: req.Filename, rep: &rep, version: &version,
			progress: req.Progress}
		// Check references first, in a savepoint, so an all-or-nothing
		// refusal leaves silver untouched.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		if err := a.apply(ctx, sp, parsed); err != nil {
			return err
		}
		sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Line < rep.Errors[j].Line })
		rep.Outcome = "applied"
		if len(rep.Errors) > 0 && req.Mode == ModeAllOrNothing {
			rep.Outcome, rep.Applied, rep.Changed = "refused", 0, 0
			if err := sp.Rollback(ctx); err != nil {
				return err
			}
		} else if err := sp.Commit(ctx); err != nil {
			return err
		}
		if req.DryRun {
			return errDryRun
		}
		return a.recordFile(ctx, req)
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return ImportReport{}, err
	}
	p.committed(req.TenantID, version)
	return rep, nil
}

// applier applies one parsed file inside a tenant transaction.
type applier struct {
	tx       pgx.Tx
	tenantID int64
	tz       string
	file     string
	rep      *ImportReport
	version  *committedVersions // set to the new versions when the import changed anything
	progress func(applied int)
	told     int // rows applied when progress was last called
}

// tick calls the progress callback when progressStep more rows were
// applied since it was last called.
func (a *applier) tick() {
	if a.progress != nil && a.rep.Applied-a.told >= progressStep {
		a.told = a.rep.Applied
		a.progress(a.told)
	}
}

func (a *applier) rowError(line int, column, value, reason string) {
	a.rep.Errors = append(a.rep.Errors, imports.RowError{File: a.file, Line: line, Column: column, Value: value, Reason: reason})
}

func (a *applier) apply(ctx context.Context, tx pgx.Tx, r *imports.Result) error {
	switch r.Kind {
	case imports.KindRoster:
		return a.roster(ctx, tx, r.Roster, r.HasColumn)
	case imports.KindCourses:
		return a.courses(ctx, tx, r.Courses)
	case imports.KindEnrollments:
		return a.enrollments(ctx, tx, r.Enrollments)
	case imports.KindRequirements:
		return a.requirements(ctx, tx, r.Requirements)
	}
	return fmt.Errorf("unknown import kind %q", r.Kind)
}

// recordFile keeps the upload in bronze and, when the import changed any
// silver (and so what dashboards read: gold, course titles), gives the
// tenant's gold a new version, in the same round trip.
func (a *applier) recordFile(ctx context.Context, req ImportRequest) error {
	report, err := json.Marshal(a.rep.Errors)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(req.Data)
	var b pgx.Batch
	b.Queue(`INSERT INTO import_files (tenant_id, kind, filename, sha256, content, uploaded_by, mode,
			outcome, rows_total, rows_applied, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		a.tenantID, string(req.Kind), req.Filename, sum[:], req.Data, req.UploadedBy, req.Mode,
		a.rep.Outcome, a.rep.Rows, a.rep.Applied, report).QueryRow(func(row pgx.Row) error { return row.Scan(&a.rep.FileID) })
	if a.rep.Changed > 0 {
		queueNewVersion(&b, a.tenantID, nil, a.version)
	}
	if err := a.tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("record import file: %w", err)
	}
	return nil
}

// today is the current date in the tenant's time zone.
func (a *applier) today() imports.Date {
	loc, err := time.LoadLocation(a.tz)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := time.Now().In(loc).Date()
	return imports.Date{Year: y, Month: m, Day: d}
}

func dateOrNil(d imports.Date) *string {
	if d.IsZero() {
		return nil
	}
	s := d.String()
	return &s
}

// ----- courses -----

func (a *applier) courses(ctx context.Context, tx pgx.Tx, rows []imports.CourseRow) error {
	for _, r := range rows {
		iri := r.ActivityIRI
		if iri == "" {
			iri = "urn:learnlens:course:" + r.Code
		}
		var code *string
		if r.Code != "" {
			code = &r.Code
		}
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM courses WHERE tenant_id = $1 AND (activity_iri = $2 OR code = $3)
			ORDER BY (activity_iri = $2) DESC LIMIT 1`, a.tenantID, iri, code).Scan(&id)
		var tag interface{ RowsAffected() int64 }
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			t, err := tx.Exec(ctx, `INSERT INTO courses (tenant_id, activity_iri, code, title, category, duration_minutes, required, catalogued)
				VALUES ($1, $2, $3, $4, $5, $6, $7, true)`, a.tenantID, iri, code, r.Title, r.Category, r.DurationMinutes, r.Required)
			if err != nil {
				return fmt.Errorf("create course %s: %w", iri, err)
			}
			tag = t
		case err != nil:
			return fmt.Errorf("find course %s: %w", iri, err)
		default:
			t, err := tx.Exec(ctx, `UPDATE courses SET activity_iri = $3, code = $4, title = $5, category = $6, duration_minutes = $7,
					required = $8, catalogued = true, updated_at = now()
				WHERE tenant_id = $1 AND id = $2 AND (activity_iri, code, title, category, duration_minutes, required, catalogued)
					IS DISTINCT FROM ($3, $4, $5, $6, $7, $8, true)`,
				a.tenantID, id, iri, code, r.Title, r.Category, r.DurationMinutes, r.Required)
			if err != nil {
				if strings.Contains(err.Error(), "courses_tenant_id") {
					a.rowError(r.Line, "code", r.Code, "another course already has this code or activity IRI")
					continue
				}
				return fmt.Errorf("update course %s: %w", iri, err)
			}
			tag = t
		}
		a.rep.Applied++
		if tag.RowsAffected() > 0 {
			a.rep.Changed++
		}
		a.tick()
	}
	return nil
}

// ----- enrolments -----

func (a *applier) enrollments(ctx context.Context, tx pgx.Tx, rows []imports.EnrollmentRow) error {
	k := newKeys()
	for _, r := range rows {
		learner, ok, err := a.learnerByEmployeeID(ctx, tx, r.EmployeeID)
		if err != nil {
			return err
		}
		if !ok {
			a.rowError(r.Line, "employee_id", r.EmployeeID, "no one with this employee id is in the roster; import the roster first")
			continue
		}
		course, ok, err := a.knownCourse(ctx, tx, r.Line, r.Course)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		tag, err := tx.Exec(ctx, `INSERT INTO enrollment_imports AS i (tenant_id, learner_id, course_id, enrolled_at, started_at,
				completed_at, due_at, scaled, passed)
			VALUES ($1, $2, $3, ($4::date)::timestamp AT TIME ZONE $10, ($5::date)::timestamp AT TIME ZONE $10,
				($6::date)::timestamp AT TIME ZONE $10, $7::date, $8, $9)
			ON CONFLICT (tenant_id, course_id, learner_id) DO UPDATE SET enrolled_at = excluded.enrolled_at,
				started_at = excluded.started_at, completed_at = excluded.completed_at, due_at = excluded.due_at,
				scaled = excluded.scaled, passed = excluded.passed
			WHERE (i.enrolled_at, i.started_at, i.completed_at, i.due_at, i.scaled, i.passed) IS DISTINCT FROM
				(excluded.enrolled_at, excluded.started_at, excluded.completed_at, excluded.due_at, excluded.scaled, excluded.passed)`,
			a.tenantID, learner, course, dateOrNil(r.EnrolledAt), dateOrNil(r.StartedAt), dateOrNil(r.CompletedAt),
			dateOrNil(r.DueAt), r.Score, r.Passed, a.tz)
		if err != nil {
			return fmt.Errorf("import enrolment line %d: %w", r.Line, err)
		}
		a.rep.Applied++
		if tag.RowsAffected() > 0 {
			a.rep.Changed++
			k.addRecompute(learner, course)
		}
		a.tick()
	}
	if k.empty() {
		return nil
	}
	if err := refreshSilver(ctx, tx, a.tenantID, a.tz, k); err != nil {
		return err
	}
	return applyGoldDeltas(ctx, tx, a.tenantID, a.tz, k, nil)
}

func (a *applier) learnerByEmployeeID(ctx context.Context, tx pgx.Tx, emp string) (int64, bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM learners WHERE tenant_id = $1 AND employee_id = $2`, a.tenantID, emp).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// knownCourse resolves a course reference of a file row, reporting the row
// when no such course exists.
func (a *applier) knownCourse(ctx context.Context, tx pgx.Tx, line int, ref string) (int64, bool, error) {
	id, ok, err := a.courseByRef(ctx, tx, ref)
	if err == nil && !ok {
		a.rowError(line, "course", ref, "no course with this code or activity IRI; import the course catalog first")
	}
	return id, ok, err
}

func (a *applier) courseByRef(ctx context.Context, tx pgx.Tx, ref string) (int64, bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM courses WHERE tenant_id = $1 AND (code = $2 OR activity_iri = $2)
		ORDER BY (code = $2) DESC NULLS LAST LIMIT 1`, a.tenantID, ref).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// ----- compliance requirements -----

// requirements upserts the file's requirements by course and audience. A
// row naming a retired requirement puts it back in force: the file says it
// applies.
func (a *applier) requirements(ctx context.Context, tx pgx.Tx, rows []imports.RequirementRow) error {
	for _, r := range rows {
		course, ok, err := a.knownCourse(ctx, tx, r.Line, r.Course)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		audience, key := audienceJSON(r.Audience)
		dueFrom := r.DueFrom
		if dueFrom == "" {
			dueFrom = "assignment"
		}
		// A requirement put back in force is assigned afresh, from the
		// file's in-force date or today, as a new one is.
		tag, err := tx.Exec(ctx, `INSERT INTO compliance_requirements AS q (tenant_id, course_id, audience, audience_key, due_days,
				due_from, recertify_months, in_force_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8::date, (now() AT TIME ZONE $9)::date))
			ON CONFLICT (tenant_id, course_id, audience_key) DO UPDATE SET due_days = excluded.due_days,
				due_from = excluded.due_from, recertify_months = excluded.recertify_months,
				in_force_from = CASE WHEN q.retired_at IS NULL THEN coalesce($8::date, q.in_force_from) ELSE excluded.in_force_from END,
				assigned_at = CASE WHEN q.retired_at IS NULL THEN q.assigned_at END,
				retired_at = NULL, updated_at = now()
			WHERE (q.due_days, q.due_from, q.recertify_months, q.retired_at, q.in_force_from) IS DISTINCT FROM
				(excluded.due_days, excluded.due_from, excluded.recertify_months, NULL::timestamptz, coalesce($8::date, q.in_force_from))`,
			a.tenantID, course, audience, key, r.DueWithinDays, dueFrom, r.RecertifyMonths, dateOrNil(r.InForceFrom), a.tz)
		if err != nil {
			return fmt.Errorf("import requirement line %d: %w", r.Line, err)
		}
		a.rep.Applied++
		if tag.RowsAffected() > 0 {
			a.rep.Changed++
		}
		a.tick()
	}
	if a.rep.Changed == 0 {
		return nil
	}
	return refreshTenant(ctx, tx, a.tenantID, a.tz)
}

// audienceJSON returns the audience as stored and a canonical key that
// makes the same audience one requirement.
func audienceJSON(au imports.Audience) ([]byte, string) {
	if au.All || (au.Department == "" && au.Location == "" && au.JobTitle == "") {
		return []byte(`{"all":true}`), "all"
	}
	m := map[string]string{}
	var parts []string
	for _, f := range []struct{ k, v string }{{"department", au.Department}, {"location", au.Location}, {"job_title", au.JobTitle}} {
		if f.v != "" {
			m[f.k] = f.v
			parts = append(parts, f.k+"="+strings.ToLower(f.v))
		}
	}
	b, _ := json.Marshal(m)
	return b, strings.Join(parts, ";")
}
