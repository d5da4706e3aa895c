package models

import (
	"context"
	"crypto/sha256"
	"strconv"

	"github.com/learnlens/learnlens/database"
	"gorm.io/gorm"
)

// CredentialChannel is the PostgreSQL notification channel on which a
// rotated or revoked credential's id is announced once committed, so that
// every instance forgets the verified credentials it holds.
const CredentialChannel = "learnlens_credentials"

// List returns the credentials of tenantID, revoked ones last, newest
// first.
func (s *CredentialStore) List(ctx context.Context, tenantID int64) ([]Credential, error) {
	var cs []Credential
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ?", tenantID).Order("revoked_at IS NOT NULL, created_at DESC, id DESC").Find(&cs).Error
	})
	return cs, err
}

// Rotate gives credential id of tenantID a new random secret and returns
// it; it cannot be shown again. The old secret stops working at once, on
// every instance: there is no grace period (a client that must not miss a
// beat gets a second credential instead, and the first is revoked once it
// has switched). A revoked credential cannot be rotated (ErrNotFound).
func (s *CredentialStore) Rotate(ctx context.Context, tenantID, id int64) (Credential, string, error) {
	secret := randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	c, err := s.change(ctx, tenantID, id, `secret_hash = ?`, sum[:])
	return c, secret, err
}

// Revoke ends credential id of tenantID: it is refused from the next
// request on, on every instance. Revoking twice is ErrNotFound.
func (s *CredentialStore) Revoke(ctx context.Context, tenantID, id int64) (Credential, error) {
	return s.change(ctx, tenantID, id, `revoked_at = now()`)
}

// change updates a live credential and announces it on CredentialChannel.
func (s *CredentialStore) change(ctx context.Context, tenantID, id int64, set string, values ...any) (Credential, error) {
	c, err := changeLive[Credential](ctx, s.db, "xapi_credentials", tenantID, id, set, values...)
	if err != nil {
		return Credential{}, err
	}
	return c, s.db.Notify(context.WithoutCancel(ctx), CredentialChannel, strconv.FormatInt(id, 10))
}

// changeLive updates row id of tenantID in table (xAPI credentials, API
// clients) unless it is revoked, and reads it back; ErrNotFound when there
// is no such live row.
func changeLive[T any](ctx context.Context, db *database.DB, table string, tenantID, id int64, set string, values ...any) (T, error) {
	var row T
	err := db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE `+table+` SET `+set+` WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`,
			append(values, tenantID, id)...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&row).Error
	})
	return row, notFound(err)
}
