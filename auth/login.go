package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/learnlens/learnlens/models"
)

// Limits on password guessing.
const (
	MaxFailedLogins   = 5                // per account, before it locks
	LockoutDuration   = 15 * time.Minute // how long a lock-out lasts unless an admin lifts it
	MaxFailuresPerIP  = 30               // per client address and window, across all accounts
	IPThrottleWindow  = 15 * time.Minute
	loginTicketExpiry = time.Minute
)

// ErrBadCredentials is the one answer to a wrong email, a wrong password, a
// disabled or a locked account, so the answer never says which accounts exist.
var ErrBadCredentials = errors.New("the email or password is incorrect, or the account is locked for a while after repeated failed attempts")

// ErrThrottled is returned when a client address has failed too often.
var ErrThrottled = errors.New("too many failed sign-ins from your network; wait 15 minutes and try again")

// Authenticator checks credentials and keeps the throttles and audit trail.
type Authenticator struct {
	Users    *models.UserStore
	Audit    *models.AuditStore
	Throttle *models.LoginThrottle
	Tickets  *models.LoginTicketStore
	Now      func() time.Time
}

// Attempt is one sign-in attempt.
type Attempt struct {
	Email, Password, IP, RequestID string
}

// Login checks a's credentials against tenant's users and returns the user.
// Every outcome is written to tenant's audit log.
func (a *Authenticator) Login(ctx context.Context, tenant models.Tenant, at Attempt) (models.User, error) {
	email := strings.ToLower(strings.TrimSpace(at.Email))
	audit := func(action string, u *models.User, details string) {
		e := models.AuditEntry{TenantID: tenant.ID, ActorEmail: email, Action: action, IP: at.IP, RequestID: at.RequestID}
		if u != nil {
			e.ActorUserID, e.Target = &u.ID, "user:"+fmt.Sprint(u.ID)
		}
		if details != "" {
			e.Details = []byte(details)
		}
		// A failed audit write must not turn a refusal into a sign-in, nor
		// hide the outcome; the caller logs request errors, so drop it here.
		_ = a.Audit.Record(ctx, e)
	}

	failures, err := a.Throttle.Failures(ctx, at.IP)
	if err != nil {
		return models.User{}, fmt.Errorf("read login throttle: %w", err)
	}
	if failures >= MaxFailuresPerIP {
		audit(models.AuditLoginThrottled, nil, "")
		return models.User{}, ErrThrottled
	}

	u, err := a.Users.ByEmail(ctx, tenant.ID, email)
	switch {
	case errors.Is(err, models.ErrNotFound):
		checkDummyPassword(at.Password)
		audit(models.AuditLoginFailed, nil, `{"reason":"unknown email"}`)
		return models.User{}, a.failed(ctx, at.IP)
	case err != nil:
		return models.User{}, fmt.Errorf("find user: %w", err)
	}

	ok := CheckPassword(at.Password, u.PasswordHash)
	switch {
	case u.Status != models.UserActive:
		audit(models.AuditLoginFailed, &u, `{"reason":"account disabled"}`)
		return models.User{}, a.failed(ctx, at.IP)
	case u.Locked(a.now()):
		audit(models.AuditLoginFailed, &u, `{"reason":"account locked"}`)
		return models.User{}, a.failed(ctx, at.IP)
	case !ok:
		lockedNow, err := a.Users.RecordFailedLogin(ctx, tenant.ID, u.ID, MaxFailedLogins, LockoutDuration)
		if err != nil {
			return models.User{}, fmt.Errorf("count failed login: %w", err)
		}
		audit(models.AuditLoginFailed, &u, `{"reason":"wrong password"}`)
		if lockedNow {
			audit(models.AuditLoginLockedOut, &u, fmt.Sprintf(`{"minutes":%d}`, int(LockoutDuration.Minutes())))
		}
		return models.User{}, a.failed(ctx, at.IP)
	}
	if err := a.Users.RecordLogin(ctx, tenant.ID, u.ID); err != nil {
		return models.User{}, fmt.Errorf("record login: %w", err)
	}
	audit(models.AuditLoginSucceeded, &u, "")
	return u, nil
}

// IssueTicket returns a one-time token that signs u in on their tenant's host.
func (a *Authenticator) IssueTicket(ctx context.Context, u models.User) (string, error) {
	return a.Tickets.Issue(ctx, u.TenantID, u.ID, loginTicketExpiry)
}

// RedeemTicket consumes a ticket issued for tenant and returns its user.
func (a *Authenticator) RedeemTicket(ctx context.Context, tenant models.Tenant, token string) (models.User, error) {
	id, err := a.Tickets.Redeem(ctx, tenant.ID, token)
	if err != nil {
		return models.User{}, err
	}
	u, err := a.Users.ByID(ctx, tenant.ID, id)
	if err != nil {
		return models.User{}, err
	}
	if u.Status != models.UserActive {
		return models.User{}, models.ErrNotFound
	}
	return u, nil
}

func (a *Authenticator) failed(ctx context.Context, ip string) error {
	if err := a.Throttle.RecordFailure(ctx, ip); err != nil {
		return fmt.Errorf("count failed login: %w", err)
	}
	return ErrBadCredentials
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
