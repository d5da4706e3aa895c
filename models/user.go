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
	// TOTPSecret is the user's TOTP key, sealed (auth.Authenticator's
	// SealTOTP/OpenTOTP), in force once TOTPEnabledAt is set;
	// TOTPLastStep is the time step of the last code accepted.
	TOTPSecret    []byte     `gorm:"column:totp_secret"`
	TOTPEnabledAt *time.Time `gorm:"column:totp_enabled_at"`
	TOTPLastStep  int64      `gorm:"column:totp_last_step"`
	// MFAFailures counts wrong second-factor codes since the last right
	// one; past a few, the second step is held back until MFAHeldUntil.
	MFAFailures  int        `gorm:"column:mfa_failures"`
	MFAHeldUntil *time.Time `gorm:"column:mfa_held_until"`
	// LearnerID is the user's own learner record, linked by an admin;
	// nil: the record with the user's email, if any.
	LearnerID *int64
	// SessionsValidAfter ends every session signed in before it (a
	// password set through a reset link).
	SessionsValidAfter *time.Time
}

// HasMFA reports whether signing in takes a second factor.
func (u User) HasMFA() bool { return u.TOTPEnabledAt != nil && len(u.TOTPSecret) > 0 }

// IsAdmin reports whether u administers a tenant or the platform.
func (u User) IsAdmin() bool { return u.Role == RoleTenantAdmin || u.Role == RolePlatformAdmin }

// Locked reports whether the account is locked out at time now.
func (u User) Locked(now time.Time) bool { return u.LockedUntil != nil && u.LockedUntil.After(now) }

// Roles lists every role, for validating a role change.
var Roles = []string{RolePlatformAdmin, RoleTenantAdmin, RoleManager, RoleAnalyst, RoleLearner}

// UserStore reads and writes users of one tenant at a time. Every change to
// a user is announced on AuthChannel once committed.
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

// LoginDelay is the progressive delay of an account after failed sign-ins:
// from the Free-th failure on, the account is held back for Base, doubled
// with each further failure, at most Max.
type LoginDelay struct {
	Free int
	Base time.Duration
	Max  time.Duration
}

// RecordFailedLogin counts a wrong password against the account, and
// against the account from source (the client address), and holds the
// account back until now + the delay d gives for its failure count. It
// reports whether this failure started the hold.
func (s *UserStore) RecordFailedLogin(ctx context.Context, tenantID, id int64, source string, d LoginDelay) (lockedNow bool, err error) {
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		err := tx.Raw(`UPDATE users SET failed_logins = failed_logins + 1,
				locked_until = CASE WHEN failed_logins + 1 >= @free
					THEN now() + make_interval(secs => least(@base * power(2, failed_logins + 1 - @free), @max))
					ELSE locked_until END,
				updated_at = now()
			WHERE tenant_id = @tenant AND id = @id
			RETURNING failed_logins = @free`,
			map[string]any{"free": d.Free, "base": d.Base.Seconds(), "max": d.Max.Seconds(), "tenant": tenantID, "id": id}).Scan(&lockedNow).Error
		if err != nil {
			return err
		}
		err = tx.Exec(`INSERT INTO login_account_failures (tenant_id, user_id, source, failures) VALUES (?, ?, ?, 1)
			ON CONFLICT (tenant_id, user_id, source) DO UPDATE
			SET failures = login_account_failures.failures + 1, last_failure_at = now()`, tenantID, id, source).Error
		if err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM login_account_failures WHERE tenant_id = ? AND user_id = ? AND last_failure_at < now() - interval '1 day'`,
			tenantID, id).Error
	})
	if err != nil {
		return false, err
	}
	return lockedNow, announce(ctx, s.db, userChanged(tenantID, id))
}

// FailedFrom reports whether a sign-in to the account from source failed
// within the last period.
func (s *UserStore) FailedFrom(ctx context.Context, tenantID, id int64, source string, period time.Duration) (bool, error) {
	var failed bool
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT EXISTS (SELECT 1 FROM login_account_failures
			WHERE tenant_id = ? AND user_id = ? AND source = ? AND last_failure_at > now() - make_interval(secs => ?))`,
			tenantID, id, source, period.Seconds()).Scan(&failed).Error
	})
	return failed, err
}

// RecordLogin resets the failure counts and notes the time of a successful
// sign-in.
func (s *UserStore) RecordLogin(ctx context.Context, tenantID, id int64) error {
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM login_account_failures WHERE tenant_id = ? AND user_id = ?`, tenantID, id).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now(), updated_at = now()
			WHERE tenant_id = ? AND id = ?`, tenantID, id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, userChanged(tenantID, id))
}

// StartTOTP stores a new TOTP secret for u, not in force until EnableTOTP.
// A user who already has MFA keeps it: the new secret replaces it only
// when confirmed.
func (s *UserStore) StartTOTP(ctx context.Context, tenantID, id int64, secret []byte) error {
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE users SET totp_secret = ?, updated_at = now() WHERE tenant_id = ? AND id = ? AND totp_enabled_at IS NULL`,
			secret, tenantID, id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, userChanged(tenantID, id))
}

// EnableTOTP puts the stored secret in force, with step as the last code
// used, and replaces the user's recovery codes with those hashes.
func (s *UserStore) EnableTOTP(ctx context.Context, tenantID, id, step int64, codeHashes [][]byte) error {
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET totp_enabled_at = now(), totp_last_step = ?, updated_at = now()
			WHERE tenant_id = ? AND id = ? AND totp_secret IS NOT NULL AND totp_enabled_at IS NULL`, step, tenantID, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Exec(`DELETE FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, id).Error; err != nil {
			return err
		}
		for _, h := range codeHashes {
			if err := tx.Exec(`INSERT INTO mfa_recovery_codes (tenant_id, user_id, code_hash) VALUES (?, ?, ?)`, tenantID, id, h).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, userChanged(tenantID, id))
}

// UseTOTPStep records that the code of step was used, unless a code of it
// or a later step was used already (then ok is false: a replay).
func (s *UserStore) UseTOTPStep(ctx context.Context, tenantID, id, step int64) (ok bool, err error) {
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET totp_last_step = ? WHERE tenant_id = ? AND id = ? AND totp_last_step < ?`, step, tenantID, id, step)
		ok = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return false, err
	}
	return ok, announce(ctx, s.db, userChanged(tenantID, id))
}

// RecordMFAFailure counts a wrong second-factor code against the account
// and holds its second step back until now + the delay d gives for the
// count, from whatever address.
func (s *UserStore) RecordMFAFailure(ctx context.Context, tenantID, id int64, d LoginDelay) error {
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE users SET mfa_failures = mfa_failures + 1,
				mfa_held_until = CASE WHEN mfa_failures + 1 >= @free
					THEN now() + make_interval(secs => least(@base * power(2, mfa_failures + 1 - @free), @max))
					ELSE mfa_held_until END
			WHERE tenant_id = @tenant AND id = @id`,
			map[string]any{"free": d.Free, "base": d.Base.Seconds(), "max": d.Max.Seconds(), "tenant": tenantID, "id": id}).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, userChanged(tenantID, id))
}

// ResetMFAFailures clears the count after a right second factor.
func (s *UserStore) ResetMFAFailures(ctx context.Context, tenantID, id int64) error {
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE users SET mfa_failures = 0, mfa_held_until = NULL WHERE tenant_id = ? AND id = ? AND mfa_failures > 0`,
			tenantID, id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, userChanged(tenantID, id))
}

// UseRecoveryCode spends the unused recovery code with that hash; ok is
// false when there is none.
func (s *UserStore) UseRecoveryCode(ctx context.Context, tenantID, id int64, hash []byte) (ok bool, err error) {
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE mfa_recovery_codes SET used_at = now()
			WHERE tenant_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL`, tenantID, id, hash)
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok, err
}

// ResetMFA turns the user's second factor off and forgets their key and
// recovery codes (a lost phone): they sign in with the password alone, or
// set it up again.
func (s *UserStore) ResetMFA(ctx context.Context, tenantID, id int64) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = 0,
				mfa_failures = 0, mfa_held_until = NULL, updated_at = now()
			WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := tx.Exec(`DELETE FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, id).Error; err != nil {
			return err
		}
		return tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error
	})
	if err != nil {
		return User{}, notFound(err)
	}
	return u, announce(ctx, s.db, userChanged(tenantID, id))
}

// Unlock lifts a lock-out and clears the failure count.
func (s *UserStore) Unlock(ctx context.Context, tenantID, id int64) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM login_account_failures WHERE tenant_id = ? AND user_id = ?`, tenantID, id).Error; err != nil {
			return err
		}
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
	if err != nil {
		return User{}, notFound(err)
	}
	return u, announce(ctx, s.db, userChanged(tenantID, id))
}
