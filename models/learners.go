package models

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// LearnerRecord is a person of a tenant's roster (or an xAPI actor), as an
// admin picks them to link a user to their learner record.
type LearnerRecord struct {
	ID         int64
	Name       string
	Email      string
	EmployeeID string
	Department string
	JobTitle   string
}

// LearnerStore finds people in a tenant's learner records.
type LearnerStore struct{ db *database.DB }

// NewLearnerStore returns a LearnerStore on db.
func NewLearnerStore(db *database.DB) *LearnerStore { return &LearnerStore{db: db} }

// learnerColumns select a LearnerRecord from learners.
const learnerColumns = `id, name, coalesce(email, '') AS email, coalesce(employee_id, '') AS employee_id, department, job_title`

// Search returns up to limit learner records of tenantID whose name,
// email or employee id contains q (case-insensitive), rostered people
// first, then by name.
func (s *LearnerStore) Search(ctx context.Context, tenantID int64, q string, limit int) ([]LearnerRecord, error) {
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(q)) + "%"
	var out []LearnerRecord
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+learnerColumns+` FROM learners
			WHERE tenant_id = ? AND (name ILIKE ? OR email ILIKE ? OR employee_id ILIKE ?)
			ORDER BY rostered DESC, name, id LIMIT ?`, tenantID, pattern, pattern, pattern, limit).Scan(&out).Error
	})
	return out, err
}

// ByIDs returns the learner records of tenantID with those ids, by id.
func (s *LearnerStore) ByIDs(ctx context.Context, tenantID int64, ids []int64) (map[int64]LearnerRecord, error) {
	out := make(map[int64]LearnerRecord, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rs []LearnerRecord
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+learnerColumns+` FROM learners WHERE tenant_id = ? AND id IN ?`, tenantID, ids).Scan(&rs).Error
	})
	for _, r := range rs {
		out[r.ID] = r
	}
	return out, err
}
