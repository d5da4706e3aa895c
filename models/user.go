package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// Roles a user can have. RolePlatformAdmin exists only in the platform realm.
const (
	RolePlatformAdmin = "platform_admin"
	RoleTenantAdmin   = "tenant_admin"
	RoleManager       = "manager"
	RoleAnalyst       = "analyst"
	RoleLearner       = "learner"
)

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is a person who signs in to one tenant (or, for platform admins, to
// the platform realm).
type User struct {
	TenantID     int64
	ID           int64
	Email        string
	Name         string
	Role         string
	PasswordHash string
	Status       string
	FailedLogins int
	LockedUntil  *time.Time
	LastLoginAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Locked reports whether the account is locked out at time now.
func (u User) Locked(now time.Time) bool { return u.LockedUntil != nil && u.LockedUntil.After(now) }

// UserStore reads and writes users of one tenant at a time.
type UserStore struct{ db *database.DB }

// NewUserStore returns a UserStore on db.
func NewUserStore(db *database.DB) *UserStore { return &UserStore{db: db} }

// ByEmail returns the user of tenantID with that email (case-insensitive).
func (s *UserStore) ByEmail(ctx context.Context, tenantID int64, email string) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ? AND email = ?", tenantID, strings.ToLower(strings.TrimSpace(email))).Take(&u).Error
	})
	return u, notFound(err)
}

// ByID returns the user of tenantID with that id.
func (s *UserStore) ByID(ctx context.Context, tenantID, id int64) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error
	})
	return u, notFound(err)
}

// List returns the users of tenantID ordered by name.
func (s *UserStore) List(ctx context.Context, tenantID int64) ([]User, error) {
	var us []User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ?", tenantID).Order("name, email").Find(&us).Error
	})
	return us, err
}

// NewUser is what creating a user needs; the password is already hashed.
type NewUser struct {
	Email, Name, Role, PasswordHash string
}

// Create inserts a user into tenantID.
func (s *UserStore) Create(ctx context.Context, tenantID int64, nu NewUser) (User, error) {
	u := User{TenantID: tenantID, Email: strings.ToLower(strings.TrimSpace(nu.Email)), Name: nu.Name,
		Role: nu.Role, PasswordHash: nu.PasswordHash, Status: UserActive}
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Omit("ID", "CreatedAt", "UpdatedAt", "FailedLogins", "LockedUntil", "LastLoginAt").Create(&u).Error
	})
	return u, err
}

// RecordFailedLogin counts a wrong password against the account and locks it
// until now+lockFor once maxFailures is reached. It reports whether this
// failure locked the account.
func (s *UserStore) RecordFailedLogin(ctx context.Context, tenantID, id int64, maxFailures int, lockFor time.Duration) (lockedNow bool, err error) {
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE users SET failed_logins = failed_logins + 1,
				locked_until = CASE WHEN failed_logins + 1 >= ? THEN now() + make_interval(secs => ?) ELSE locked_until END,
				updated_at = now()
			WHERE tenant_id = ? AND id = ?
			RETURNING failed_logins >= ? AND failed_logins - 1 < ?`,
			maxFailures, lockFor.Seconds(), tenantID, id, maxFailures, maxFailures).Scan(&lockedNow).Error
	})
	return lockedNow, err
}

// RecordLogin resets the failure count and notes the time of a successful
// sign-in.
func (s *UserStore) RecordLogin(ctx context.Context, tenantID, id int64) error {
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now(), updated_at = now()
			WHERE tenant_id = ? AND id = ?`, tenantID, id).Error
	})
}

// Unlock lifts a lock-out and clears the failure count.
func (s *UserStore) Unlock(ctx context.Context, tenantID, id int64) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = now()
			WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error
	})
	return u, notFound(err)
}
