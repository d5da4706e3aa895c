package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/views/pages/admin"
	"github.com/learnlens/learnlens/views/pages/invite"
)

// noReferrer keeps a page's address out of the Referer of whatever it
// links to or loads: the pages of one-time links carry the token in their
// address, and pages showing a new link must not pass it on either.
func noReferrer(c *fiber.Ctx) { c.Set(fiber.HeaderReferrerPolicy, "no-referrer") }

// invitations is the Users page's invitations section of the tenant.
func (h *Handlers) invitations(c *fiber.Ctx) (admin.Invitations, error) {
	tenant := auth.Tenant(c)
	ls, err := h.links.PendingInvitations(c.UserContext(), tenant.ID)
	if err != nil {
		return admin.Invitations{}, err
	}
	v := admin.Invitations{CSRF: h.sessions.CSRFToken(c), Role: models.RoleLearner, Roles: roleOptions, Errors: map[string]string{}}
	loc := tenantLocation(tenant)
	for _, l := range ls {
		v.Pending = append(v.Pending, admin.Invitation{ID: l.ID, Email: l.Email, RoleLabel: roleLabels[l.Role],
			Expires: l.ExpiresAt.In(loc).Format("2 Jan 15:04"), By: l.CreatedBy})
	}
	return v, nil
}

// invite creates an invitation link for an email and role, shown once.
func (h *Handlers) invite(c *fiber.Ctx) error {
	tenant := auth.Tenant(c)
	email, role := strings.ToLower(strings.TrimSpace(c.FormValue("email"))), c.FormValue("role")
	token, l, status, errs, err := h.createInvitation(c, email, role)
	if err != nil {
		return err
	}
	v, err := h.invitations(c)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		v.Email, v.Role, v.Errors = email, role, errs
		return h.invitationsResponse(c, status, v)
	}
	v.NewLink = &admin.OneTimeLink{What: "Send this invitation link to " + email + ".", URL: c.BaseURL() + "/invite/" + token,
		Expires: l.ExpiresAt.In(tenantLocation(tenant)).Format("2 Jan 2006 15:04 MST")}
	noReferrer(c)
	return h.invitationsResponse(c, fiber.StatusCreated, v)
}

// createInvitation checks email (lower-cased already) and role, creates
// the invitation and audits it: the Users page and POST /api/v1/users.
// A refusal is errs by field, with status 422, or 409 for an email that
// has an account or a pending invitation.
func (h *Handlers) createInvitation(c *fiber.Ctx, email, role string) (token string, l models.OneTimeLink, status int, errs map[string]string, err error) {
	errs = map[string]string{}
	if msg := checkEmail(email); msg != "" {
		errs["email"] = msg
	}
	if !slices.Contains(models.TenantRoles, role) {
		errs["role"] = "Choose a role: learner, manager, analyst or tenant_admin."
	}
	if len(errs) > 0 {
		return "", l, fiber.StatusUnprocessableEntity, errs, nil
	}
	u := auth.User(c)
	token, l, err = h.links.Invite(c.UserContext(), auth.Tenant(c).ID, email, role, models.Creator{ID: u.ID, Email: u.Email})
	if errors.Is(err, models.ErrEmailTaken) {
		errs["email"] = email + " already has an account here or a pending invitation."
		return "", l, fiber.StatusConflict, errs, nil
	}
	if err != nil {
		return "", l, 0, nil, err
	}
	err = h.tenantAudit(c, models.AuditInvitationCreated, "invitation:"+strconv.FormatInt(l.ID, 10),
		map[string]any{"email": email, "role": role})
	return token, l, fiber.StatusCreated, nil, err
}

// invitationsResponse sends the invitations section: alone to htmx, or
// the whole Users page.
func (h *Handlers) invitationsResponse(c *fiber.Ctx, status int, v admin.Invitations) error {
	if htmx.IsRequest(c) {
		return h.fragment(c, status, admin.InvitationsView(v))
	}
	return h.usersPage(c, status, v)
}

// revokeInvitation revokes a pending invitation of the tenant.
func (h *Handlers) revokeInvitation(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	l, err := h.links.RevokeInvitation(c.UserContext(), auth.Tenant(c).ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := h.tenantAudit(c, models.AuditInvitationRevoked, "invitation:"+strconv.FormatInt(l.ID, 10),
		map[string]any{"email": l.Email}); err != nil {
		return err
	}
	v, err := h.invitations(c)
	if err != nil {
		return err
	}
	return h.invitationsResponse(c, fiber.StatusOK, v)
}

// resetLink creates a password-reset link for a user of the tenant,
// shown once.
func (h *Handlers) resetLink(c *fiber.Ctx) error {
	tenant, actor := auth.Tenant(c), auth.User(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	token, u, err := h.links.PasswordReset(c.UserContext(), tenant.ID, id, models.Creator{ID: actor.ID, Email: actor.Email})
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := h.tenantAudit(c, models.AuditResetLinkCreated, "user:"+strconv.FormatInt(u.ID, 10), nil); err != nil {
		return err
	}
	link := admin.OneTimeLink{What: "Send this password-reset link to " + u.Email + ". Using it ends their other sessions.",
		URL: c.BaseURL() + "/reset/" + token, Expires: time.Now().Add(models.PasswordResetTTL).In(tenantLocation(tenant)).Format("2 Jan 2006 15:04 MST")}
	noReferrer(c)
	if htmx.IsRequest(c) {
		return h.fragment(c, fiber.StatusCreated, admin.NewLinkView(link))
	}
	v, err := h.invitations(c)
	if err != nil {
		return err
	}
	v.NewLink = &link
	return h.usersPage(c, fiber.StatusCreated, v)
}

// tenantAudit writes the signed-in user's action on target to their
// tenant's audit log.
func (h *Handlers) tenantAudit(c *fiber.Ctx, action, target string, details any) error {
	return h.record(c, auth.Tenant(c).ID, action, target, details)
}

// linkGone answers a one-time link that cannot be used: 404 for one that
// does not exist (here), 410 for one used, revoked or expired.
func (h *Handlers) linkGone(c *fiber.Ctx, err error) error {
	noReferrer(c)
	if errors.Is(err, models.ErrNotFound) {
		return h.page(c, fiber.StatusNotFound, "Link not found", invite.Gone("This link does not work",
			"There is no such link at this organisation. Check that you copied all of it, or ask your admin for a new one."))
	}
	return h.page(c, fiber.StatusGone, "Link no longer valid", invite.Gone("This link no longer works",
		"It was already used, was revoked, or has expired. Ask your admin for a new one, or sign in if you have an account."))
}

// linkPage shows an invitation's or a password reset's form.
func (h *Handlers) linkPage(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, err := h.linkForm(c, kind)
		if err != nil {
			return h.linkGone(c, err)
		}
		noReferrer(c)
		return h.page(c, fiber.StatusOK, f.OrgName, invite.Page(f))
	}
}

// linkForm is the form of the pending link of kind in the URL.
func (h *Handlers) linkForm(c *fiber.Ctx, kind string) (invite.Form, error) {
	tenant := auth.Tenant(c)
	l, err := h.links.Find(c.UserContext(), tenant.ID, kind, c.Params("token"))
	if err != nil {
		return invite.Form{}, err
	}
	if l.State(time.Now()) != models.LinkPending {
		return invite.Form{}, models.ErrLinkGone
	}
	f := invite.Form{CSRF: h.sessions.CSRFToken(c), OrgName: tenant.Name, Action: c.Path(), Email: l.Email,
		Role: roleLabels[l.Role], Reset: kind == models.LinkPasswordReset, Errors: map[string]string{}}
	if f.Reset {
		u, err := h.users.ByID(c.UserContext(), tenant.ID, *l.UserID)
		if err != nil {
			return invite.Form{}, err
		}
		f.Email = u.Email
	}
	return f, nil
}

// acceptInvitation creates the invited user with the name and password
// given and signs them in.
func (h *Handlers) acceptInvitation(c *fiber.Ctx) error {
	f, err := h.linkForm(c, models.LinkInvitation)
	if err != nil {
		return h.linkGone(c, err)
	}
	noReferrer(c)
	f.Name = strings.TrimSpace(c.FormValue("name"))
	password := c.FormValue("password")
	if msg := checkName(f.Name); msg != "" {
		f.Errors["name"] = msg
	}
	if err := auth.CheckNewPassword(password, f.Email); err != nil {
		f.Errors["password"] = sentence(err.Error())
	}
	if len(f.Errors) > 0 {
		return h.page(c, fiber.StatusUnprocessableEntity, f.OrgName, invite.Page(f))
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	tenant := auth.Tenant(c)
	u, err := h.links.AcceptInvitation(c.UserContext(), tenant.ID, c.Params("token"), f.Name, hash)
	switch {
	case errors.Is(err, models.ErrEmailTaken):
		return h.page(c, fiber.StatusConflict, "Account exists", invite.Gone("You already have an account",
			f.Email+" already has an account at "+f.OrgName+". Sign in with it, or ask your admin for a password-reset link."))
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrLinkGone):
		return h.linkGone(c, err)
	case err != nil:
		return err
	}
	if err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: tenant.ID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditInvitationAccepted, Target: "user:" + strconv.FormatInt(u.ID, 10), IP: h.clientIP(c), RequestID: requestID(c),
		Details: jsonDetails(map[string]any{"role": u.Role})}); err != nil {
		return err
	}
	if err := h.sessions.SignIn(c, u); err != nil {
		return err
	}
	return htmx.Redirect(c, "/")
}

// resetPassword sets the user's new password through a reset link, ends
// their other sessions and signs them in (asking for their second factor
// first when they have one).
func (h *Handlers) resetPassword(c *fiber.Ctx) error {
	f, err := h.linkForm(c, models.LinkPasswordReset)
	if err != nil {
		return h.linkGone(c, err)
	}
	noReferrer(c)
	password := c.FormValue("password")
	if err := auth.CheckNewPassword(password, f.Email); err != nil {
		f.Errors["password"] = sentence(err.Error())
		return h.page(c, fiber.StatusUnprocessableEntity, f.OrgName, invite.Page(f))
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	tenant := auth.Tenant(c)
	u, err := h.links.ResetPassword(c.UserContext(), tenant.ID, c.Params("token"), hash, time.Now())
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrLinkGone):
		return h.linkGone(c, err)
	case err != nil:
		return err
	}
	// This instance's next request must see the old sessions end, before
	// the notification comes back.
	h.hosts.Cache.Forget(models.AuthChange{Kind: models.ChangedUser, TenantID: u.TenantID, UserID: u.ID})
	if err := h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: tenant.ID, ActorUserID: &u.ID, ActorEmail: u.Email,
		Action: models.AuditPasswordReset, Target: "user:" + strconv.FormatInt(u.ID, 10), IP: h.clientIP(c), RequestID: requestID(c)}); err != nil {
		return err
	}
	if u.Status != models.UserActive {
		return htmx.Redirect(c, "/login")
	}
	return h.finishSignIn(c, u, "/")
}
