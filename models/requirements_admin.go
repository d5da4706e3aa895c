package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// RequirementAudience is whom a compliance requirement applies to: all
// rostered people, or those whose every named field matches.
type RequirementAudience struct {
	All        bool   `json:"all,omitempty"`
	Department string `json:"department,omitempty"`
	Location   string `json:"location,omitempty"`
	JobTitle   string `json:"job_title,omitempty"`
}

// ComplianceRequirement is one of a tenant's compliance requirements, with
// how many people it applies to and how many of them are overdue today.
type ComplianceRequirement struct {
	ID              int64
	CourseID        int64
	CourseTitle     string // the title, or the activity IRI of an untitled course
	CourseCode      string
	Audience        RequirementAudience
	DueDays         int
	DueFrom         string // "hire" or "assignment"
	RecertifyMonths int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	RetiredAt       *time.Time
	People          int64
	Overdue         int64 // not completed and past due, today in the tenant's time zone
}

// RequirementChoices are what a requirement's form offers: the tenant's
// courses and the departments, locations and job titles of its roster.
type RequirementChoices struct {
	Courses                           []CourseChoice
	Departments, Locations, JobTitles []string
}

// CourseChoice is a course as the requirement form lists it.
type CourseChoice struct {
	ID    int64
	Title string
	Code  string
}

// RequirementStore reads a tenant's compliance requirements. They are
// written by the pipeline (pipeline.CreateRequirement and friends), which
// keeps assignments and gold in step.
type RequirementStore struct{ db *database.DB }

// NewRequirementStore returns a RequirementStore on db.
func NewRequirementStore(db *database.DB) *RequirementStore { return &RequirementStore{db: db} }

// requirementList selects requirements of tenant @tenant with their people
// and those overdue on @today.
const requirementList = `
SELECT r.id, r.course_id, coalesce(nullif(c.title, ''), c.activity_iri) AS course_title, coalesce(c.code, '') AS course_code,
    r.audience, r.due_days, r.due_from, r.recertify_months, r.created_at, r.updated_at, r.retired_at,
    coalesce(a.people, 0) AS people, coalesce(a.overdue, 0) AS overdue
FROM compliance_requirements r
JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id
LEFT JOIN LATERAL (
    SELECT count(*) AS people, count(*) FILTER (WHERE ca.completed_at IS NULL AND ca.due_on < @today) AS overdue
    FROM compliance_assignments ca WHERE ca.tenant_id = r.tenant_id AND ca.requirement_id = r.id
) a ON true
WHERE r.tenant_id = @tenant`

// Value writes an audience as compliance_requirements stores it.
func (a RequirementAudience) Value() (driver.Value, error) { return json.Marshal(a) }

// Scan reads an audience as compliance_requirements stores it (jsonb).
func (a *RequirementAudience) Scan(v any) error {
	switch b := v.(type) {
	case []byte:
		return json.Unmarshal(b, a)
	case string:
		return json.Unmarshal([]byte(b), a)
	}
	return fmt.Errorf("audience: cannot scan %T", v)
}

// List returns the tenant's requirements, those in force first, each group
// by course title; today is the tenant's date, for counting the overdue.
func (s *RequirementStore) List(ctx context.Context, tenantID int64, today time.Time) ([]ComplianceRequirement, error) {
	var out []ComplianceRequirement
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(requirementList+` ORDER BY r.retired_at IS NOT NULL, course_title, r.audience_key, r.id`,
			map[string]any{"tenant": tenantID, "today": today.Format(time.DateOnly)}).Scan(&out).Error
	})
	return out, err
}

// Get returns requirement id of the tenant, or ErrNotFound.
func (s *RequirementStore) Get(ctx context.Context, tenantID, id int64, today time.Time) (ComplianceRequirement, error) {
	var rows []ComplianceRequirement
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(requirementList+` AND r.id = @id`,
			map[string]any{"tenant": tenantID, "today": today.Format(time.DateOnly), "id": id}).Scan(&rows).Error
	})
	if err != nil {
		return ComplianceRequirement{}, err
	}
	if len(rows) == 0 {
		return ComplianceRequirement{}, ErrNotFound
	}
	return rows[0], nil
}

// Choices returns what the requirement form offers for the tenant.
func (s *RequirementStore) Choices(ctx context.Context, tenantID int64) (RequirementChoices, error) {
	var ch RequirementChoices
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT id, coalesce(nullif(title, ''), activity_iri) AS title, coalesce(code, '') AS code
			FROM courses WHERE tenant_id = ? ORDER BY 2, id`, tenantID).Scan(&ch.Courses).Error; err != nil {
			return err
		}
		for _, f := range []struct {
			column string
			into   *[]string
		}{{"department", &ch.Departments}, {"location", &ch.Locations}, {"job_title", &ch.JobTitles}} {
			if err := tx.Raw(`SELECT DISTINCT `+f.column+` FROM learners
				WHERE tenant_id = ? AND rostered AND `+f.column+` <> '' ORDER BY 1`, tenantID).Scan(f.into).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return ch, err
}
