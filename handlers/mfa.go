package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	authviews "github.com/learnlens/learnlens/views/pages/auth"
)

// recoveryCodes is how many recovery codes a user gets when turning MFA on.
const recoveryCodes = 10

// finishSignIn signs u in after a right password (or a redeemed ticket),
// or, when u has a second factor, asks for it first.
func (h *Handlers) finishSignIn(c *fiber.Ctx, u models.User, next string) error {
	if u.HasMFA() {
		if err := h.sessions.BeginMFA(c, u); err != nil {
			return err
		}
		return htmx.Redirect(c, "/login/mfa?next="+url.QueryEscape(next))
	}
	if err := h.sessions.SignIn(c, u); err != nil {
		return err
	}
	return htmx.Redirect(c, next)
}

// mfaChallenge shows the second step of a sign-in.
func (h *Handlers) mfaChallenge(c *fiber.Ctx) error {
	if _, ok, err := h.sessions.PendingMFA(c); err != nil || !ok {
		if err != nil {
			return err
		}
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return h.renderMFAChallenge(c, fiber.StatusOK, safeNext(c.Query("next")), "")
}

// mfaVerify checks the second factor and finishes the sign-in. After
// auth.MaxMFAFailures wrong codes the pending sign-in ends and the
// password must be entered again.
func (h *Handlers) mfaVerify(c *fiber.Ctx) error {
	next := safeNext(c.FormValue("next"))
	u, ok, err := h.sessions.PendingMFA(c)
	if err != nil {
		return err
	}
	if !ok {
		return h.renderLogin(c, fiber.StatusUnauthorized, authviews.LoginForm{Next: next, Error: "That sign-in has expired. Please sign in again."})
	}
	good, err := h.authn.CheckSecondFactor(c.UserContext(), u, c.FormValue("code"), h.clientIP(c), requestID(c))
	var held *auth.MFAHeldError
	if errors.As(err, &held) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(held.RetryAfter.Round(time.Second)/time.Second))))
		return h.renderMFAChallenge(c, fiber.StatusTooManyRequests, next, sentence(held.Error()))
	}
	if err != nil {
		return err
	}
	if !good {
		usedUp, err := h.sessions.MFAFailed(c)
		if err != nil {
			return err
		}
		if usedUp {
			return h.renderLogin(c, fiber.StatusUnauthorized, authviews.LoginForm{Next: next,
				Error: fmt.Sprintf("%d wrong codes. Please sign in again.", auth.MaxMFAFailures)})
		}
		return h.renderMFAChallenge(c, fiber.StatusUnauthorized, next, "That code is not right, or was used already. Try the newest code from your app.")
	}
	if err := h.sessions.SignInWithSecondFactor(c, u); err != nil {
		return err
	}
	return htmx.Redirect(c, next)
}

func (h *Handlers) renderMFAChallenge(c *fiber.Ctx, status int, next, msg string) error {
	t := auth.Tenant(c)
	org := t.Name
	if t.IsPlatform() {
		org = "LearnLens"
	}
	return h.page(c, status, "Sign in", authviews.MFAChallengePage(authviews.MFAChallenge{
		CSRF: h.sessions.CSRFToken(c), OrgName: org, Next: next, Error: msg,
	}))
}

// mfaRequired reports whether u must have a second factor: platform admins
// (unless the demo data is served) and the admins of a tenant that
// requires it.
func (h *Handlers) mfaRequired(c *fiber.Ctx, u *models.User) bool {
	switch u.Role {
	case models.RolePlatformAdmin:
		return !h.cfg.AdminMFAOptional
	case models.RoleTenantAdmin:
		return auth.Tenant(c).RequireAdminMFA
	}
	return false
}

// requireMFASetup is middleware that sends a signed-in user who must have a
// second factor and has none to set it up; until then only that page and
// signing out answer.
func (h *Handlers) requireMFASetup(c *fiber.Ctx) error {
	u := auth.User(c)
	if u == nil || u.HasMFA() || !h.mfaRequired(c, u) {
		return c.Next()
	}
	switch c.Path() {
	case "/account/mfa", "/account/mfa/setup", "/account/mfa/confirm", "/logout":
		return c.Next()
	}
	if strings.HasPrefix(c.Path(), "/api/") || c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		return fiber.NewError(fiber.StatusForbidden, "set up two-step sign-in first, at /account/mfa")
	}
	return htmx.Redirect(c, "/account/mfa")
}

// mfaPage shows the signed-in user's second factor, or sets one up.
func (h *Handlers) mfaPage(c *fiber.Ctx) error {
	u, err := h.freshUser(c)
	if err != nil {
		return err
	}
	return h.renderMFASetup(c, fiber.StatusOK, u, nil, "")
}

// mfaStart makes a new TOTP key for the signed-in user, in force once
// confirmed with a code.
func (h *Handlers) mfaStart(c *fiber.Ctx) error {
	u := auth.User(c)
	if !u.HasMFA() {
		sealed, err := h.authn.SealTOTP(c.UserContext(), *u, auth.NewTOTPSecret())
		if err != nil {
			return err
		}
		if err := h.users.StartTOTP(c.UserContext(), u.TenantID, u.ID, sealed); err != nil {
			return err
		}
	}
	return htmx.Redirect(c, "/account/mfa")
}

// mfaConfirm turns the second factor on when the code matches the new key,
// and shows the recovery codes once.
func (h *Handlers) mfaConfirm(c *fiber.Ctx) error {
	u, err := h.freshUser(c)
	if err != nil {
		return err
	}
	if u.HasMFA() || len(u.TOTPSecret) == 0 {
		return htmx.Redirect(c, "/account/mfa")
	}
	secret, err := h.authn.OpenTOTP(c.UserContext(), u)
	if err != nil {
		return err
	}
	step, ok := auth.CheckTOTP(secret, c.FormValue("code"), time.Now(), u.TOTPLastStep)
	if !ok {
		return h.renderMFASetup(c, fiber.StatusUnprocessableEntity, u, nil,
			"That code does not match the key. Check the time on your phone and enter the newest code.")
	}
	codes := auth.NewRecoveryCodes(recoveryCodes)
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = auth.HashRecoveryCode(code)
	}
	if err := h.users.EnableTOTP(c.UserContext(), u.TenantID, u.ID, step, hashes); err != nil {
		return err
	}
	// This instance's next request must see it on, before the
	// notification comes back.
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedUser, TenantID: u.TenantID, UserID: u.ID})
	if err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: u.TenantID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditMFAEnabled, Target: fmt.Sprintf("user:%d", u.ID), IP: h.clientIP(c), RequestID: requestID(c)}); err != nil {
		return err
	}
	now := time.Now()
	u.TOTPEnabledAt = &now
	return h.renderMFASetup(c, fiber.StatusOK, u, codes, "")
}

func (h *Handlers) renderMFASetup(c *fiber.Ctx, status int, u models.User, codes []string, msg string) error {
	m := authviews.MFASetup{CSRF: h.sessions.CSRFToken(c), Enabled: u.HasMFA(), Required: h.mfaRequired(c, &u),
		RecoveryCodes: codes, Error: msg}
	if !m.Enabled && len(u.TOTPSecret) > 0 {
		secret, err := h.authn.OpenTOTP(c.UserContext(), u)
		if err != nil {
			return err
		}
		m.KeyText = auth.TOTPKeyText(secret)
		issuer := "LearnLens"
		if t := auth.Tenant(c); !t.IsPlatform() {
			issuer += " " + t.Name
		}
		m.URI = auth.TOTPURI(secret, issuer, u.Email)
	}
	return h.page(c, status, "Two-step sign-in", authviews.MFASetupPage(m))
}

// freshUser reads the signed-in user from PostgreSQL rather than the
// cache, which may not have heard of a change this instance just made.
func (h *Handlers) freshUser(c *fiber.Ctx) (models.User, error) {
	u := auth.User(c)
	fresh, err := h.users.ByID(c.UserContext(), u.TenantID, u.ID)
	if errors.Is(err, models.ErrNotFound) {
		return models.User{}, fiber.ErrNotFound
	}
	return fresh, err
}

// mfaPolicy sets whether the tenant's admins must use a second factor.
func (h *Handlers) mfaPolicy(c *fiber.Ctx) error {
	var require bool
	switch c.FormValue("required") {
	case "true":
		require = true
	case "false":
	default:
		return fiber.NewError(fiber.StatusBadRequest, `required must be "true" or "false"`)
	}
	t, u := auth.Tenant(c), auth.User(c)
	if err := h.tenants.SetRequireAdminMFA(c.UserContext(), t.ID, require); err != nil {
		return err
	}
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedTenant, TenantID: t.ID})
	if err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: t.ID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditMFAPolicy, Target: fmt.Sprintf("tenant:%d", t.ID), IP: h.clientIP(c), RequestID: requestID(c),
		Details: []byte(fmt.Sprintf(`{"require_admin_mfa":%t}`, require))}); err != nil {
		return err
	}
	return htmx.Redirect(c, "/admin/settings")
}
