package models

import (
	"context"

	"gorm.io/gorm"
)

// ActivityDefinition returns the newest definition of an activity sent in
// one of the tenant's statements as the statement's object: LearnLens
// keeps no activity apart from the statements. It is nil when no statement
// defines it.
func (s *StatementStore) ActivityDefinition(ctx context.Context, tenantID int64, activityID string) ([]byte, error) {
	var defs []string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT s.statement->'object'->>'definition' FROM xapi_statements s
			WHERE s.tenant_id = ? AND s.activity_id = ? AND s.statement->'object'->'definition' IS NOT NULL
			ORDER BY s.stored DESC LIMIT 1`, tenantID, activityID).Scan(&defs).Error
	})
	if err != nil || len(defs) == 0 {
		return nil, err
	}
	return []byte(defs[0]), nil
}
