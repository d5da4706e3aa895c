package handlers

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	authviews "github.com/learnlens/learnlens/views/pages/auth"
)

// loginPage shows the sign-in form, or sends a signed-in user on.
func (h *Handlers) loginPage(c *fiber.Ctx) error {
	if auth.User(c) != nil {
		return htmx.Redirect(c, safeNext(c.Query("next")))
	}
	return h.renderLogin(c, fiber.StatusOK, authviews.LoginForm{Email: c.Query("email"), Next: safeNext(c.Query("next"))})
}

// login checks the submitted credentials. On a tenant's host it signs the
// user in there. On the bare base domain the email's domain picks the
// tenant, and a one-time ticket carries the sign-in over to the tenant's
// host; platform admins sign in on the bare domain itself.
func (h *Handlers) login(c *fiber.Ctx) error {
	form := authviews.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next"))}
	password := c.FormValue("password")
	if form.Email == "" || password == "" || !strings.Contains(form.Email, "@") {
		form.Error = "Enter your email address and your password."
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, form)
	}
	tenant := auth.Tenant(c)
	if tenant.IsPlatform() {
		t, err := h.tenants.ByDomain(c.UserContext(), models.DomainEmail, emailDomain(form.Email))
		switch {
		case err == nil:
			tenant = t
		case !errors.Is(err, models.ErrNotFound):
			return err
		}
		if tenant.Suspended() {
			form.Error = sentence(auth.ErrTenantSuspended.Error())
			return h.renderLogin(c, fiber.StatusForbidden, form)
		}
	}
	u, err := h.authn.Login(c.UserContext(), tenant, auth.Attempt{
		Email: form.Email, Password: password, IP: c.IP(), RequestID: requestID(c),
	})
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		form.Error = sentence(err.Error())
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	case errors.Is(err, auth.ErrThrottled):
		form.Error = sentence(err.Error())
		return h.renderLogin(c, fiber.StatusTooManyRequests, form)
	case err != nil:
		return err
	}
	if tenant.ID != auth.Tenant(c).ID {
		ticket, err := h.authn.IssueTicket(c.UserContext(), u)
		if err != nil {
			return err
		}
		return htmx.Redirect(c, h.hosts.TenantURL(c, tenant)+"/login/ticket?t="+ticket)
	}
	if err := h.sessions.SignIn(c, u); err != nil {
		return err
	}
	return htmx.Redirect(c, form.Next)
}

// redeemLoginTicket finishes a sign-in begun on the bare base domain.
func (h *Handlers) redeemLoginTicket(c *fiber.Ctx) error {
	u, err := h.authn.RedeemTicket(c.UserContext(), auth.Tenant(c), c.Query("t"))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderLogin(c, fiber.StatusBadRequest, authviews.LoginForm{
			Next:  "/",
			Error: "That sign-in link has expired or was already used. Please sign in again.",
		})
	}
	if err != nil {
		return err
	}
	if err := h.sessions.SignIn(c, u); err != nil {
		return err
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

// logout ends the session.
func (h *Handlers) logout(c *fiber.Ctx) error {
	u := auth.User(c)
	if err := h.sessions.SignOut(c); err != nil {
		return err
	}
	err := h.audit.Record(c.UserContext(), models.AuditEntry{
		TenantID: u.TenantID, ActorUserID: &u.ID, ActorEmail: u.Email, Action: models.AuditLogout,
		IP: c.IP(), RequestID: requestID(c),
	})
	if err != nil {
		return err
	}
	return htmx.Redirect(c, "/login")
}

func (h *Handlers) renderLogin(c *fiber.Ctx, status int, form authviews.LoginForm) error {
	t := auth.Tenant(c)
	form.CSRF = h.sessions.CSRFToken(c)
	form.OrgName = t.Name
	if t.IsPlatform() {
		form.OrgName = "LearnLens"
		form.FindTenant = true
	}
	if c.Method() == fiber.MethodPost && htmx.IsRequest(c) {
		return h.fragment(c, status, authviews.Form(form))
	}
	return h.page(c, status, "Sign in", authviews.LoginPage(form))
}

// safeNext keeps a post-login destination only if it is a clean path on
// this host: it starts with one "/", and holds no backslash, whitespace or
// control character (browsers drop tabs and newlines from URLs, so
// "/\t/evil.example" would become the network-path reference
// "//evil.example"), and no invalid UTF-8. Anything else becomes "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || !utf8.ValidString(next) {
		return "/"
	}
	for _, r := range next {
		if r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

func emailDomain(email string) string {
	return strings.ToLower(email[strings.LastIndex(email, "@")+1:])
}
