package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// One-time link kinds.
const (
	LinkInvitation    = "invitation"
	LinkPasswordReset = "password_reset"
	LinkSupport       = "support"
)

// How long one-time links last: an invitation a week (it waits for someone
// to read a message), a password reset a day, a support hand-over a minute
// (it is posted at once by the platform admin's own browser).
const (
	InvitationTTL    = 7 * 24 * time.Hour
	PasswordResetTTL = 24 * time.Hour
	SupportTicketTTL = time.Minute
)

// States of a one-time link.
const (
	LinkPending = "pending"
	LinkUsed    = "used"
	LinkRevoked = "revoked"
	LinkExpired = "expired"
)

// ErrLinkGone is returned for a one-time link that was used, revoked or has
// expired.
var ErrLinkGone = errors.New("this link was already used, was revoked or has expired")

// ErrEmailTaken is returned when an invitation names the email of a user of
// the tenant, or of another pending invitation.
var ErrEmailTaken = errors.New("email taken")

// OneTimeLink is an invitation, a password reset or a support hand-over,
// reached through a secret token of which only a hash is stored.
type OneTimeLink struct {
	TenantID     int64
	ID           int64
	Kind         string
	TokenHash    []byte
	Email        string // invitation
	Role         string // invitation
	UserID       *int64 // password reset
	CreatedByID  *int64
	CreatedBy    string
	SupportUntil *time.Time // support
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
	RevokedAt    *time.Time
}

// State says whether l can still be used at now.
func (l OneTimeLink) State(now time.Time) string {
	switch {
	case l.UsedAt != nil:
		return LinkUsed
	case l.RevokedAt != nil:
		return LinkRevoked
	case !now.Before(l.ExpiresAt):
		return LinkExpired
	}
	return LinkPending
}

// LinkStore issues, lists and spends one-time links, each in its tenant.
type LinkStore struct{ db *database.DB }

// NewLinkStore returns a LinkStore on db.
func NewLinkStore(db *database.DB) *LinkStore { return &LinkStore{db: db} }

// Creator is who makes a link: a user of the tenant or a platform admin.
type Creator struct {
	ID    int64
	Email string
}

func newLinkToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, linkHash(token)
}

func linkHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// insert stores l with a new token and returns the token.
func insertLink(tx *gorm.DB, l *OneTimeLink, by Creator, ttl time.Duration) (string, error) {
	token, hash := newLinkToken()
	l.TokenHash, l.CreatedBy = hash, by.Email
	if by.ID != 0 {
		l.CreatedByID = &by.ID
	}
	l.ExpiresAt = time.Now().Add(ttl)
	if err := tx.Omit("ID", "CreatedAt", "UsedAt", "RevokedAt").Create(l).Error; err != nil {
		return "", fmt.Errorf("create %s link: %w", l.Kind, err)
	}
	return token, nil
}

// Invite creates an invitation of email with role to tenantID and returns
// its token. ErrEmailTaken: the email has an account or a pending
// invitation there already.
func (s *LinkStore) Invite(ctx context.Context, tenantID int64, email, role string, by Creator) (string, OneTimeLink, error) {
	l := OneTimeLink{TenantID: tenantID, Kind: LinkInvitation, Email: strings.ToLower(strings.TrimSpace(email)), Role: role}
	var token string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		// One invitation at a time per address: serialise invitations of
		// the tenant, then look.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended('invite', ?))`, tenantID).Error; err != nil {
			return err
		}
		var taken bool
		err := tx.Raw(`SELECT EXISTS (SELECT FROM users WHERE tenant_id = @t AND email = @e)
			OR EXISTS (SELECT FROM one_time_links WHERE tenant_id = @t AND kind = 'invitation' AND email = @e
				AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now())`,
			map[string]any{"t": tenantID, "e": l.Email}).Scan(&taken).Error
		if err != nil {
			return err
		}
		if taken {
			return ErrEmailTaken
		}
		token, err = insertLink(tx, &l, by, InvitationTTL)
		return err
	})
	return token, l, err
}

// PasswordReset creates a password-reset link for user id of tenantID.
func (s *LinkStore) PasswordReset(ctx context.Context, tenantID, id int64, by Creator) (string, User, error) {
	var u User
	var token string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error; err != nil {
			return notFound(err)
		}
		l := OneTimeLink{TenantID: tenantID, Kind: LinkPasswordReset, UserID: &u.ID}
		var err error
		token, err = insertLink(tx, &l, by, PasswordResetTTL)
		return err
	})
	return token, u, err
}

// SupportTicket creates the one-time hand-over of a platform admin's
// support access to tenantID, which lasts until until.
func (s *LinkStore) SupportTicket(ctx context.Context, tenantID int64, until time.Time, by Creator) (string, error) {
	var token string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		l := OneTimeLink{TenantID: tenantID, Kind: LinkSupport, SupportUntil: &until}
		var err error
		token, err = insertLink(tx, &l, by, SupportTicketTTL)
		return err
	})
	return token, err
}

// Find returns tenantID's link of kind with that token, whatever its
// state; ErrNotFound when there is none (or it is another tenant's).
func (s *LinkStore) Find(ctx context.Context, tenantID int64, kind, token string) (OneTimeLink, error) {
	var l OneTimeLink
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ? AND kind = ? AND token_hash = ?", tenantID, kind, linkHash(token)).Take(&l).Error
	})
	return l, notFound(err)
}

// spend marks tenantID's pending link of kind with token used, inside tx,
// and returns it: ErrNotFound when there is none, ErrLinkGone when it is
// not pending any more.
func spend(tx *gorm.DB, tenantID int64, kind, token string) (OneTimeLink, error) {
	var l OneTimeLink
	err := tx.Raw(`SELECT * FROM one_time_links WHERE tenant_id = ? AND kind = ? AND token_hash = ? FOR UPDATE`,
		tenantID, kind, linkHash(token)).Take(&l).Error
	if err != nil {
		return l, notFound(err)
	}
	if l.State(time.Now()) != LinkPending {
		return l, ErrLinkGone
	}
	return l, tx.Exec(`UPDATE one_time_links SET used_at = now() WHERE tenant_id = ? AND id = ?`, tenantID, l.ID).Error
}

// AcceptInvitation spends the invitation and creates its user with name
// and the hashed password, in one transaction.
func (s *LinkStore) AcceptInvitation(ctx context.Context, tenantID int64, token, name, passwordHash string) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		l, err := spend(tx, tenantID, LinkInvitation, token)
		if err != nil {
			return err
		}
		u = User{TenantID: tenantID, Email: l.Email, Name: name, Role: l.Role, PasswordHash: passwordHash, Status: UserActive}
		err = tx.Omit("ID", "CreatedAt", "UpdatedAt", "FailedLogins", "LockedUntil", "LastLoginAt").Create(&u).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return ErrEmailTaken // an account was made for the address meanwhile
		}
		return err
	})
	return u, err
}

// ResetPassword spends the reset link and sets its user's password; every
// session of the user signed in before validAfter ends.
func (s *LinkStore) ResetPassword(ctx context.Context, tenantID int64, token, passwordHash string, validAfter time.Time) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		l, err := spend(tx, tenantID, LinkPasswordReset, token)
		if err != nil {
			return err
		}
		return tx.Raw(`UPDATE users SET password_hash = ?, sessions_valid_after = ?, failed_logins = 0, locked_until = NULL,
				updated_at = now() WHERE tenant_id = ? AND id = ? RETURNING *`, passwordHash, validAfter, tenantID, *l.UserID).
			Scan(&u).Error
	})
	if err != nil {
		return User{}, err
	}
	return u, announce(ctx, s.db, userChanged(tenantID, u.ID))
}

// RedeemSupport spends a support hand-over of tenantID and returns it.
func (s *LinkStore) RedeemSupport(ctx context.Context, tenantID int64, token string) (OneTimeLink, error) {
	var l OneTimeLink
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		var err error
		l, err = spend(tx, tenantID, LinkSupport, token)
		return err
	})
	return l, err
}

// PendingInvitations returns tenantID's invitations that can still be
// accepted, newest first.
func (s *LinkStore) PendingInvitations(ctx context.Context, tenantID int64) ([]OneTimeLink, error) {
	var ls []OneTimeLink
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where(`tenant_id = ? AND kind = 'invitation' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
			tenantID).Order("created_at DESC, id DESC").Find(&ls).Error
	})
	return ls, err
}

// RevokeInvitation revokes tenantID's pending invitation id; ErrNotFound
// when it has no such pending invitation.
func (s *LinkStore) RevokeInvitation(ctx context.Context, tenantID, id int64) (OneTimeLink, error) {
	var ls []OneTimeLink
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE one_time_links SET revoked_at = now()
			WHERE tenant_id = ? AND id = ? AND kind = 'invitation' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
			RETURNING *`, tenantID, id).Scan(&ls).Error
	})
	if err != nil {
		return OneTimeLink{}, err
	}
	if len(ls) != 1 {
		return OneTimeLink{}, ErrNotFound
	}
	return ls[0], nil
}
