package models

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// AttachmentData is the data of one stored xAPI attachment.
type AttachmentData struct {
	SHA2        string // lower-case hex
	ContentType string
	Content     []byte
}

// EachAttachment calls fn with the tenant's stored data of every
// attachment among sha2s (lower-case hex) that it holds, one at a time, so
// that a response of many large attachments never holds more than one in
// memory. An attachment the tenant does not hold (a fileUrl reference) is
// left out.
func (s *StatementStore) EachAttachment(ctx context.Context, tenantID int64, sha2s []string, fn func(AttachmentData) error) error {
	if len(sha2s) == 0 {
		return nil
	}
	return s.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT sha2, content_type, content FROM xapi_attachments
			WHERE tenant_id = $1 AND sha2 = ANY($2::text[]) ORDER BY sha2`, tenantID, sha2s)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a AttachmentData
			if err := rows.Scan(&a.SHA2, &a.ContentType, &a.Content); err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
