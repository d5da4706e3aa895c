package handlers

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
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
		Email: form.Email, Password: password, IP: h.clientIP(c), RequestID: requestID(c),
	})
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		form.Error = sentence(err.Error())
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	case errors.Is(err, auth.ErrThrottled):
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(te.RetryAfter.Round(time.Second)/time.Second))))
		}
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
		// The ticket stays in this browser: a host-only cookie of the
		// bare domain, read by /login/continue, never a URL.
		c.Cookie(&fiber.Cookie{
			Name: ticketCookie, Value: strconv.FormatInt(tenant.ID, 10) + "." + ticket, Path: "/login/continue",
			MaxAge: 60, HTTPOnly: true, Secure: h.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
		})
		return htmx.Redirect(c, "/login/continue")
	}
	return h.finishSignIn(c, u, form.Next)
}

// ticketCookie carries a bare-domain sign-in's ticket from POST /login to
// GET /login/continue in the browser that signed in.
const ticketCookie = "learnlens_ticket"

var errTicketExpired = "That sign-in has expired or was already used. Please sign in again."

// continueLogin, on the bare base domain, hands the sign-in ticket kept in
// this browser's cookie over to the tenant's own host, by a form that
// posts it there (see redeemLoginTicket).
func (h *Handlers) continueLogin(c *fiber.Ctx) error {
	if !auth.Tenant(c).IsPlatform() {
		return fiber.ErrNotFound
	}
	v := c.Cookies(ticketCookie)
	c.Cookie(&fiber.Cookie{Name: ticketCookie, Path: "/login/continue", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: h.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
	idText, ticket, _ := strings.Cut(v, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || ticket == "" {
		return h.renderLogin(c, fiber.StatusBadRequest, authviews.LoginForm{Next: "/", Error: errTicketExpired})
	}
	t, err := h.hosts.TenantByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return h.renderLogin(c, fiber.StatusBadRequest, authviews.LoginForm{Next: "/", Error: errTicketExpired})
	}
	if err != nil {
		return err
	}
	allowFormAction(c, h.hosts.TenantURL(c, t))
	return h.page(c, fiber.StatusOK, "Signing in", authviews.ContinuePage(authviews.Continue{
		OrgName: t.Name, Action: h.hosts.TenantURL(c, t) + "/login/ticket", Ticket: ticket,
	}))
}

// redeemLoginTicket finishes a sign-in begun on the bare base domain. It
// accepts only a POST whose Origin (or, without one, Referer) is the bare
// domain's own: the hand-over page there is the only one that sends it,
// so an attacker's link or page cannot sign a victim's browser in to the
// attacker's account (login CSRF), even with a valid ticket of their own.
// It has no CSRF token of the tenant's host, which the bare domain cannot
// know; the origin check and the single-use ticket take its place.
func (h *Handlers) redeemLoginTicket(c *fiber.Ctx) error {
	if !h.fromPlatformOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "a sign-in can only be finished from the LearnLens sign-in page; please sign in again")
	}
	u, err := h.authn.RedeemTicket(c.UserContext(), auth.Tenant(c), c.FormValue("t"))
	if errors.Is(err, models.ErrNotFound) {
		return h.renderLogin(c, fiber.StatusBadRequest, authviews.LoginForm{Next: "/", Error: errTicketExpired})
	}
	if err != nil {
		return err
	}
	return h.finishSignIn(c, u, "/")
}

// fromPlatformOrigin reports whether the request was sent by a page of the
// bare base domain, by its Origin header, or its Referer when a browser
// sent no Origin.
func (h *Handlers) fromPlatformOrigin(c *fiber.Ctx) bool {
	want := h.hosts.PlatformURL(c)
	if origin := c.Get(fiber.HeaderOrigin); origin != "" {
		return origin == want
	}
	ref := c.Get(fiber.HeaderReferer)
	return ref != "" && strings.HasPrefix(ref, want+"/")
}

// logout ends the session.
func (h *Handlers) logout(c *fiber.Ctx) error {
	if auth.Support(c) != nil {
		return h.endSupport(c)
	}
	u := auth.User(c)
	if err := h.sessions.SignOut(c); err != nil {
		return err
	}
	err := h.audit.Record(c.UserContext(), models.AuditEntry{
		TenantID: u.TenantID, ActorUserID: &u.ID, ActorEmail: u.Email, Action: models.AuditLogout,
		IP: h.clientIP(c), RequestID: requestID(c),
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
