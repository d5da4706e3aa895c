package pipeline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// storeAttachments stores the data of the attachments that the batch's
// fresh statements name, once per tenant and sha2 (xapi_attachments): data
// the tenant already holds is not written again. It runs in the batch's
// transaction, so statements and their data commit together or not at all.
// Parts named only by duplicate statements are not stored: those were
// stored with their data before.
func storeAttachments(ctx context.Context, tx pgx.Tx, b StatementBatch, fresh []int) error {
	if len(b.Attachments) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, i := range fresh {
		for _, a := range b.Statements[i].AllAttachments() {
			named[a.SHA2] = true
		}
	}
	var shas, types []string
	var contents [][]byte
	for _, p := range b.Attachments {
		if named[p.SHA2] {
			delete(named, p.SHA2) // once per sha2, even when sent twice
			shas, types, contents = append(shas, p.SHA2), append(types, p.ContentType), append(contents, p.Data)
		}
	}
	if len(shas) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO xapi_attachments (tenant_id, sha2, content_type, length, content)
		SELECT $1, u.sha2, u.content_type, octet_length(u.content), u.content
		FROM unnest($2::text[], $3::text[], $4::bytea[]) AS u(sha2, content_type, content)
		ON CONFLICT (tenant_id, sha2) DO NOTHING`, b.TenantID, shas, types, contents); err != nil {
		return fmt.Errorf("store attachments: %w", err)
	}
	return nil
}

// DeleteOrphanAttachments deletes the tenant's attachment data that no
// statement in bronze names any more (in its attachments or its
// SubStatement's), and returns how many rows went. Whatever removes
// statements or their attachments arrays (a learner's erasure or purge)
// calls it in the same transaction, after the statements are gone: the
// data of a certificate sent only with the erased person's statements
// goes with them, while data other statements still name stays. It reads
// the tenant's statements once (the referenced hashes are gathered on the
// first attachment row), so a tenant without attachment data pays nothing.
func DeleteOrphanAttachments(ctx context.Context, tx pgx.Tx, tenantID int64) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM xapi_attachments a
		WHERE a.tenant_id = $1 AND a.sha2 NOT IN (
			SELECT lower(att->>'sha2') FROM xapi_statements s,
				jsonb_array_elements(coalesce(s.statement->'attachments', '[]') ||
					coalesce(s.statement->'object'->'attachments', '[]')) AS att
			WHERE s.tenant_id = $1 AND (s.statement ? 'attachments' OR s.statement->'object' ? 'attachments')
			  AND att->>'sha2' IS NOT NULL)`, tenantID)
	if err != nil {
		return 0, fmt.Errorf("delete orphan attachments: %w", err)
	}
	return tag.RowsAffected(), nil
}
