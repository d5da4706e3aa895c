package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
)

// Requirement is one compliance requirement as a tenant admin sets it on
// the requirements page or through the API.
type Requirement struct {
	ID              int64 // 0 for a new requirement
	CourseID        int64
	Audience        imports.Audience
	DueDays         int    // days from hire or assignment to the due date
	DueFrom         string // "hire" or "assignment"
	RecertifyMonths int    // 0: never
}

// ErrRequirementMissing is returned for a requirement the tenant does not
// have (or, when retiring or restoring, one already in that state).
var ErrRequirementMissing = errors.New("no such requirement")

// ErrCourseMissing is returned for a course the tenant does not have.
var ErrCourseMissing = errors.New("no such course")

// RequirementClash is the error for a requirement whose course and audience
// another requirement of the tenant already has.
type RequirementClash struct {
	ID      int64 // the requirement that has them
	Retired bool
}

func (e *RequirementClash) Error() string {
	return fmt.Sprintf("requirement %d already covers this course and audience", e.ID)
}

// CreateRequirement adds a requirement to the tenant and returns its id.
// Like an imported one, it is assigned to its audience and the tenant's
// silver and gold are brought up to date (with a new gold version, so
// open dashboards update) before it returns.
func (p *Pipeline) CreateRequirement(ctx context.Context, tenantID int64, r Requirement) (int64, error) {
	var id int64
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		if err := checkRequirement(ctx, tx, tenantID, r); err != nil {
			return err
		}
		audience, key := audienceJSON(r.Audience)
		if err := tx.QueryRow(ctx, `INSERT INTO compliance_requirements (tenant_id, course_id, audience, audience_key, due_days,
				due_from, recertify_months, in_force_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, (now() AT TIME ZONE $8)::date) RETURNING id`,
			tenantID, r.CourseID, audience, key, r.DueDays, r.DueFrom, r.RecertifyMonths, tz).Scan(&id); err != nil {
			return fmt.Errorf("create requirement: %w", err)
		}
		return requirementsChanged(ctx, tx, tenantID, tz, &version)
	})
	if err != nil {
		return 0, err
	}
	p.committed(tenantID, version)
	return id, nil
}

// UpdateRequirement changes requirement r.ID of the tenant, retired or not.
// People it still applies to keep their assigned date, unless its course or
// what the due date counts from changed: then everyone's clock restarts, as
// for a new requirement in force from today.
func (p *Pipeline) UpdateRequirement(ctx context.Context, tenantID int64, r Requirement) error {
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		if err := checkRequirement(ctx, tx, tenantID, r); err != nil {
			return err
		}
		audience, key := audienceJSON(r.Audience)
		var restart bool
		err := tx.QueryRow(ctx, `UPDATE compliance_requirements q SET course_id = $3, audience = $4, audience_key = $5,
				due_days = $6, due_from = $7, recertify_months = $8, updated_at = now()
			FROM compliance_requirements old
			WHERE q.tenant_id = $1 AND q.id = $2 AND old.tenant_id = q.tenant_id AND old.id = q.id
			RETURNING (old.course_id, old.due_from) IS DISTINCT FROM ($3, $7)`,
			tenantID, r.ID, r.CourseID, audience, key, r.DueDays, r.DueFrom, r.RecertifyMonths).Scan(&restart)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRequirementMissing
		}
		if err != nil {
			return fmt.Errorf("update requirement %d: %w", r.ID, err)
		}
		if restart {
			if _, err := tx.Exec(ctx, `DELETE FROM compliance_assignments WHERE tenant_id = $1 AND requirement_id = $2`,
				tenantID, r.ID); err != nil {
				return fmt.Errorf("restart requirement %d: %w", r.ID, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE compliance_requirements SET in_force_from = (now() AT TIME ZONE $3)::date,
					assigned_at = NULL WHERE tenant_id = $1 AND id = $2`, tenantID, r.ID, tz); err != nil {
				return fmt.Errorf("restart requirement %d: %w", r.ID, err)
			}
		}
		return requirementsChanged(ctx, tx, tenantID, tz, &version)
	})
	if err != nil {
		return err
	}
	p.committed(tenantID, version)
	return nil
}

// RetireRequirement retires requirement id of the tenant (retire true) or
// puts it back in force. A retired requirement is kept but applies to no
// one: its assignments go, and with them its numbers on the compliance
// dashboards. Restored, it is assigned afresh, as a new requirement in
// force from today is.
// Retiring a retired requirement, or restoring one in force, is
// ErrRequirementMissing.
func (p *Pipeline) RetireRequirement(ctx context.Context, tenantID, id int64, retire bool) error {
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		set, was, args := "retired_at = now()", "IS NULL", []any{tenantID, id}
		if !retire {
			set, was, args = "retired_at = NULL, in_force_from = (now() AT TIME ZONE $3)::date", "IS NOT NULL", append(args, tz)
		}
		tag, err := tx.Exec(ctx, `UPDATE compliance_requirements SET `+set+`, assigned_at = NULL, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND retired_at `+was, args...)
		if err != nil {
			return fmt.Errorf("retire requirement %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrRequirementMissing
		}
		if retire {
			return requirementsChanged(ctx, tx, tenantID, tz, &version)
		}
		// Restoring may meet a requirement imported since with the same
		// course and audience.
		var r Requirement
		var au struct {
			All        bool   `json:"all"`
			Department string `json:"department"`
			Location   string `json:"location"`
			JobTitle   string `json:"job_title"`
		}
		if err := tx.QueryRow(ctx, `SELECT course_id, audience FROM compliance_requirements WHERE tenant_id = $1 AND id = $2`,
			tenantID, id).Scan(&r.CourseID, &au); err != nil {
			return err
		}
		r.ID = id
		r.Audience = imports.Audience{All: au.All, Department: au.Department, Location: au.Location, JobTitle: au.JobTitle}
		if err := checkRequirement(ctx, tx, tenantID, r); err != nil {
			return err
		}
		return requirementsChanged(ctx, tx, tenantID, tz, &version)
	})
	if err != nil {
		return err
	}
	p.committed(tenantID, version)
	return nil
}

// requirementsChanged brings silver and gold up to date after the
// tenant's requirements changed and gives gold a new version: what an
// import of requirements does.
func requirementsChanged(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, version *committedVersions) error {
	if err := refreshTenant(ctx, tx, tenantID, tz); err != nil {
		return err
	}
	return newVersion(ctx, tx, tenantID, version)
}

// checkRequirement checks that r's course exists and that no other
// requirement has its course and audience (the table's unique key, checked
// first so the answer can name the other requirement).
func checkRequirement(ctx context.Context, tx pgx.Tx, tenantID int64, r Requirement) error {
	var course bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM courses WHERE tenant_id = $1 AND id = $2)`, tenantID, r.CourseID).Scan(&course); err != nil {
		return fmt.Errorf("check course: %w", err)
	}
	if !course {
		return ErrCourseMissing
	}
	_, key := audienceJSON(r.Audience)
	var clash RequirementClash
	err := tx.QueryRow(ctx, `SELECT id, retired_at IS NOT NULL FROM compliance_requirements
		WHERE tenant_id = $1 AND course_id = $2 AND audience_key = $3 AND id <> $4`, tenantID, r.CourseID, key, r.ID).
		Scan(&clash.ID, &clash.Retired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check requirement: %w", err)
	}
	return &clash
}

// RequirementPreview says whom a requirement would apply to as it stands
// in a form, and their status the moment it is saved.
type RequirementPreview struct {
	People    int64 `json:"people"`
	Compliant int64 `json:"compliant"` // completed the course, and not expired
	Overdue   int64 `json:"overdue"`   // not completed, due date already past
	Expired   int64 `json:"expired"`   // completed, but recertification is already due
}

// requirementPreview computes, from silver and without writing, what
// complianceAssignmentsSync, complianceDueSync and
// complianceCompletionUpdate would make of a requirement: $2 the course,
// $3 the audience, $4 due days, $5 due from, $6 recertify months, $7 the
// tenant's time zone, $8 the requirement being edited (0: none), whose
// assigned dates are kept when $9, $10 its in-force date (NULL: today).
const requirementPreview = `
WITH r AS (SELECT $3::jsonb AS audience, coalesce($10::date, (now() AT TIME ZONE $7)::date) AS in_force_from), people AS (
    SELECT l.id, l.hire_date, r.in_force_from, $5::text AS due_from, $4::int AS due_days,
        CASE WHEN $9 THEN coalesce(a.assigned_on, (now() AT TIME ZONE $7)::date)
             ELSE greatest(r.in_force_from, l.hire_date) END AS assigned_on,
        greatest(
            (SELECT max(e.ts) FROM learning_events e
             WHERE e.tenant_id = $1 AND e.learner_id = l.id AND e.course_id = $2
               AND e.kind IN ('complete', 'pass') AND NOT e.voided),
            (SELECT i.completed_at FROM enrollment_imports i
             WHERE i.tenant_id = $1 AND i.learner_id = l.id AND i.course_id = $2)) AS completed_at
    FROM r
    JOIN learners l ON l.tenant_id = $1 AND l.rostered AND l.status = 'active'
    LEFT JOIN compliance_assignments a ON a.tenant_id = $1 AND a.requirement_id = $8 AND a.learner_id = l.id
    WHERE ` + audienceMatch + `
), status AS (
    SELECT *, (now() AT TIME ZONE $7)::date AS today, ` + firstDue + ` AS due_on,
        CASE WHEN $6::int > 0 AND completed_at IS NOT NULL
            THEN ((completed_at AT TIME ZONE $7)::date + make_interval(months => $6::int))::date END AS expires_on
    FROM people
)
SELECT count(*),
    count(*) FILTER (WHERE completed_at IS NOT NULL AND coalesce(expires_on, 'infinity') >= today),
    count(*) FILTER (WHERE completed_at IS NULL AND due_on < today),
    count(*) FILTER (WHERE completed_at IS NOT NULL AND expires_on < today)
FROM status`

// PreviewRequirement says whom r would apply to and how many of them would
// be overdue (or expired, or compliant) as soon as it is saved, computed
// from silver without writing anything. r.ID names the requirement being
// edited (0 for a new one): its people keep their assigned dates, as
// UpdateRequirement keeps them, unless the course or due rule's start
// changes.
func (p *Pipeline) PreviewRequirement(ctx context.Context, tenantID int64, r Requirement) (RequirementPreview, error) {
	var pv RequirementPreview
	err := p.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var tz string
		if err := tx.QueryRow(ctx, `SELECT time_zone FROM tenants WHERE id = $1`, tenantID).Scan(&tz); err != nil {
			return err
		}
		// A requirement kept in force keeps its in-force date and its
		// people's assigned dates; a new, restarted or restored one is in
		// force from today.
		keep := false
		var inForce *string
		if r.ID != 0 {
			err := tx.QueryRow(ctx, `SELECT course_id = $3 AND due_from = $4, in_force_from::text FROM compliance_requirements
				WHERE tenant_id = $1 AND id = $2 AND retired_at IS NULL`, tenantID, r.ID, r.CourseID, r.DueFrom).Scan(&keep, &inForce)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if !keep {
			inForce = nil
		}
		audience, _ := audienceJSON(r.Audience)
		return tx.QueryRow(ctx, requirementPreview, tenantID, r.CourseID, audience, r.DueDays, r.DueFrom, r.RecertifyMonths,
			tz, r.ID, keep, inForce).Scan(&pv.People, &pv.Compliant, &pv.Overdue, &pv.Expired)
	})
	if err != nil {
		return RequirementPreview{}, fmt.Errorf("preview requirement: %w", err)
	}
	return pv, nil
}
