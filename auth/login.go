package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/learnlens/learnlens/models"
)

// Limits on password guessing. Both grow with each failure instead of
// locking hard, so that nobody can shut an account's owner out by failing
// on purpose (issue 14: lock-out as a denial of service).
const (
	// MaxFailedLogins is the failures of an account before it is held
	// back: AccountDelay, doubled with each further failure, at most
	// LockoutDuration. While held back, the account refuses every address
	// that failed on it in the last LockoutDuration (even with the right
	// password) but still checks the password from any other address, so
	// the owner can sign in from a fresh address while someone guesses.
	MaxFailedLogins = 5
	AccountDelay    = 30 * time.Second
	LockoutDuration = 15 * time.Minute
	// FreeFailuresPerIP is the failures of a client address (across all
	// accounts, in IPThrottleWindow) before each further attempt must wait
	// a second, doubled with each failure; MaxFailuresPerIP end the window.
	FreeFailuresPerIP = 10
	MaxFailuresPerIP  = 30
	IPThrottleWindow  = 15 * time.Minute
	loginTicketExpiry = time.Minute
)

// accountDelay is the progressive delay of an account.
var accountDelay = models.LoginDelay{Free: MaxFailedLogins, Base: AccountDelay, Max: LockoutDuration}

// ipDelay is how long a client address with n failures in the window must
// wait after its last failure.
func ipDelay(n int) time.Duration {
	switch {
	case n >= MaxFailuresPerIP:
		return IPThrottleWindow
	case n < FreeFailuresPerIP:
		return 0
	}
	return min(time.Second<<(n-FreeFailuresPerIP), IPThrottleWindow)
}

// ErrBadCredentials is the one answer to a wrong email, a wrong password, a
// disabled or a locked account, so the answer never says which accounts exist.
var ErrBadCredentials = errors.New("the email or password is incorrect, or the account is locked for a while after repeated failed attempts")

// ThrottledError is returned when a client address has failed too often; it
// says how long to wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	secs := int(e.RetryAfter.Round(time.Second) / time.Second)
	return fmt.Sprintf("too many failed sign-ins from your network; wait %d seconds and try again", max(secs, 1))
}

// ErrThrottled matches every ThrottledError with errors.Is.
var ErrThrottled = errors.New("too many failed sign-ins from your network")

// Is makes errors.Is(err, ErrThrottled) true for a ThrottledError.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Authenticator checks credentials and keeps the throttles and audit trail.
type Authenticator struct {
	Users    *models.UserStore
	Audit    *models.AuditStore
	Throttle *models.LoginThrottle
	Tickets  *models.LoginTicketStore
	Now      func() time.Time

	mfaKeys totpKeys
}

// NewAuthenticator returns an Authenticator on the stores; keys holds the
// key that seals TOTP secrets.
func NewAuthenticator(users *models.UserStore, audit *models.AuditStore, throttle *models.LoginThrottle,
	tickets *models.LoginTicketStore, keys *models.SessionStore) *Authenticator {
	a := &Authenticator{Users: users, Audit: audit, Throttle: throttle, Tickets: tickets}
	a.mfaKeys.store = keys
	return a
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

	failures, since, err := a.Throttle.Failures(ctx, at.IP)
	if err != nil {
		return models.User{}, fmt.Errorf("read login throttle: %w", err)
	}
	if wait := ipDelay(failures) - since; wait > 0 {
		audit(models.AuditLoginThrottled, nil, "")
		return models.User{}, &ThrottledError{RetryAfter: wait}
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
	case u.Locked(a.now()) && a.failedFrom(ctx, u, at.IP):
		// Held back, and this address is one that failed on it: the
		// password is not even considered. Any other address still gets
		// its password checked below.
		audit(models.AuditLoginFailed, &u, `{"reason":"account locked"}`)
		return models.User{}, a.failed(ctx, at.IP)
	case !ok:
		lockedNow, err := a.Users.RecordFailedLogin(ctx, tenant.ID, u.ID, at.IP, accountDelay)
		if err != nil {
			return models.User{}, fmt.Errorf("count failed login: %w", err)
		}
		audit(models.AuditLoginFailed, &u, `{"reason":"wrong password"}`)
		if lockedNow {
			audit(models.AuditLoginLockedOut, &u, fmt.Sprintf(`{"delay_seconds":%d}`, int(AccountDelay.Seconds())))
		}
		return models.User{}, a.failed(ctx, at.IP)
	}
	if err := a.Users.RecordLogin(ctx, tenant.ID, u.ID); err != nil {
		return models.User{}, fmt.Errorf("record login: %w", err)
	}
	audit(models.AuditLoginSucceeded, &u, "")
	return u, nil
}

// MFAHeldError is returned while an account's second step is held back
// after wrong codes; RetryAfter says for how long.
type MFAHeldError struct{ RetryAfter time.Duration }

func (e *MFAHeldError) Error() string {
	return fmt.Sprintf("too many wrong codes for this account; wait %d seconds and try again",
		max(1, int(e.RetryAfter.Round(time.Second)/time.Second)))
}

// CheckSecondFactor checks code, an authenticator's code or one of u's
// recovery codes, spending it; every outcome is in the tenant's audit log.
// Wrong codes count against the account whatever the address (the
// password was right, so the sender knows it): from the MaxFailedLogins-th
// the second step is held back AccountDelay, doubling, at most
// LockoutDuration, and codes are not even checked meanwhile (MFAHeldError).
func (a *Authenticator) CheckSecondFactor(ctx context.Context, u models.User, code, ip, requestID string) (bool, error) {
	if u.MFAHeldUntil != nil && u.MFAHeldUntil.After(a.now()) {
		return false, &MFAHeldError{RetryAfter: u.MFAHeldUntil.Sub(a.now())}
	}
	ok, how, err := a.secondFactor(ctx, u, code)
	if err != nil {
		return false, err
	}
	if ok && u.MFAFailures > 0 {
		err = a.Users.ResetMFAFailures(ctx, u.TenantID, u.ID)
	} else if !ok {
		err = a.Users.RecordMFAFailure(ctx, u.TenantID, u.ID, accountDelay)
	}
	if err != nil {
		return false, fmt.Errorf("count second factor: %w", err)
	}
	action, details := models.AuditMFAFailed, ""
	if ok {
		action, details = models.AuditMFASucceeded, fmt.Sprintf(`{"factor":%q}`, how)
	}
	_ = a.Audit.Record(ctx, models.AuditEntry{TenantID: u.TenantID, ActorUserID: &u.ID, ActorEmail: u.Email, Action: action,
		Target: "user:" + fmt.Sprint(u.ID), IP: ip, RequestID: requestID, Details: jsonOrNil(details)})
	return ok, nil
}

func (a *Authenticator) secondFactor(ctx context.Context, u models.User, code string) (ok bool, how string, err error) {
	if !u.HasMFA() {
		return false, "", nil
	}
	secret, err := a.OpenTOTP(ctx, u)
	if err != nil {
		return false, "", err
	}
	if step, match := CheckTOTP(secret, code, a.now(), u.TOTPLastStep); match {
		ok, err := a.Users.UseTOTPStep(ctx, u.TenantID, u.ID, step)
		return ok, "totp", err
	}
	if norm := NormaliseRecoveryCode(code); len(norm) == 10 {
		ok, err := a.Users.UseRecoveryCode(ctx, u.TenantID, u.ID, HashRecoveryCode(norm))
		return ok, "recovery code", err
	}
	return false, "", nil
}

// HashRecoveryCode is how a recovery code is stored: its SHA-256 (the
// codes carry 50 random bits and are used once, so a fast hash suffices).
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(NormaliseRecoveryCode(code)))
	return sum[:]
}

func jsonOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
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

// failedFrom reports whether a sign-in to u from ip failed lately; on a
// database error it says yes, which refuses the attempt.
func (a *Authenticator) failedFrom(ctx context.Context, u models.User, ip string) bool {
	failed, err := a.Users.FailedFrom(ctx, u.TenantID, u.ID, ip, LockoutDuration)
	return failed || err != nil
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
