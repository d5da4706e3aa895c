package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// TokenKeyChannel is the PostgreSQL notification channel on which a
// rotation of the token signing keys is announced once committed, so that
// every instance signs with the new key from its next token on.
const TokenKeyChannel = "learnlens_token_keys"

// TokenKey is a key that signs API access tokens (migration 00019): its
// private half sealed under the deployment's TOKEN_KEY. Not tenant data.
type TokenKey struct {
	KID           string `gorm:"column:kid;primaryKey"`
	Alg           string
	PrivateSealed []byte
	CreatedAt     time.Time
	RetiredAt     *time.Time // nil: the current key
}

// TableName names the table.
func (TokenKey) TableName() string { return "token_keys" }

// TokenKeyStore reads the token signing keys as the app login and writes
// them as the platform login, which alone may.
type TokenKeyStore struct{ db *database.DB }

// NewTokenKeyStore returns a TokenKeyStore on db.
func NewTokenKeyStore(db *database.DB) *TokenKeyStore { return &TokenKeyStore{db: db} }

// Published returns the current key and the keys retired after since,
// newest first.
func (s *TokenKeyStore) Published(ctx context.Context, since time.Time) ([]TokenKey, error) {
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT kid, alg, private_sealed, created_at, retired_at FROM token_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid`, since)
	if err != nil {
		return nil, fmt.Errorf("read token keys: %w", err)
	}
	defer rows.Close()
	var out []TokenKey
	for rows.Next() {
		var k TokenKey
		if err := rows.Scan(&k.KID, &k.Alg, &k.PrivateSealed, &k.CreatedAt, &k.RetiredAt); err != nil {
			return nil, fmt.Errorf("read token keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// CreateFirst stores k as the current key unless there is one already
// (another instance made it first): then it does nothing.
func (s *TokenKeyStore) CreateFirst(ctx context.Context, k TokenKey) error {
	return s.db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO token_keys (kid, alg, private_sealed) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			k.KID, k.Alg, k.PrivateSealed).Error
	})
}

// Rotate retires the current key, makes k current and deletes keys retired
// before forgetBefore (whose tokens have all expired), in one transaction,
// and announces it on TokenKeyChannel.
func (s *TokenKeyStore) Rotate(ctx context.Context, k TokenKey, forgetBefore time.Time) error {
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE token_keys SET retired_at = now() WHERE retired_at IS NULL`).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM token_keys WHERE retired_at < ?`, forgetBefore).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO token_keys (kid, alg, private_sealed) VALUES (?, ?, ?)`, k.KID, k.Alg, k.PrivateSealed).Error
	})
	if err != nil {
		return fmt.Errorf("rotate token keys: %w", err)
	}
	return s.db.Notify(context.WithoutCancel(ctx), TokenKeyChannel, k.KID)
}
