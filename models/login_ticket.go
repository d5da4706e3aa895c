package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// LoginTicketStore issues and redeems one-time tickets that carry a sign-in
// made on the bare base domain over to the tenant's host.
type LoginTicketStore struct{ db *database.DB }

// NewLoginTicketStore returns a LoginTicketStore on db.
func NewLoginTicketStore(db *database.DB) *LoginTicketStore { return &LoginTicketStore{db: db} }

// Issue creates a ticket for a user of tenantID that is valid for ttl and
// returns its secret token (only a hash is stored).
func (s *LoginTicketStore) Issue(ctx context.Context, tenantID, userID int64, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO login_tickets (tenant_id, token_hash, user_id, expires_at)
			VALUES (?, ?, ?, now() + make_interval(secs => ?))`, tenantID, sum[:], userID, ttl.Seconds()).Error
	})
	return token, err
}

// Redeem consumes the ticket and returns its user. An unknown, expired or
// already used ticket, or one of another tenant, gives ErrNotFound.
func (s *LoginTicketStore) Redeem(ctx context.Context, tenantID int64, token string) (int64, error) {
	sum := sha256.Sum256([]byte(token))
	var userIDs []int64
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`DELETE FROM login_tickets WHERE tenant_id = ? AND token_hash = ?
			RETURNING CASE WHEN expires_at > now() THEN user_id ELSE 0 END`, tenantID, sum[:]).Scan(&userIDs).Error
	})
	if err != nil {
		return 0, err
	}
	if len(userIDs) != 1 || userIDs[0] == 0 {
		return 0, ErrNotFound
	}
	return userIDs[0], nil
}
