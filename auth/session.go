package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// CookieName is the name of the session cookie.
const CookieName = "learnlens_session"

// sessionLoadedKey marks requests whose session Middleware loaded.
type sessionLoadedKey struct{}

const (
	sessionTenantKey = "tenant_id"
	sessionUserKey   = "user_id"
	sessionCSRFKey   = "csrf"
)

// Sessions keeps server-side sessions (scs, stored in PostgreSQL) and binds
// them to Fiber. scs is written for net/http and Fiber passes no request
// context, so the middleware drives scs's Load and Commit itself and keeps
// the session in the request's user context.
type Sessions struct {
	manager *scs.SessionManager
	users   *models.UserStore
}

// SessionOptions configure sessions.
type SessionOptions struct {
	Store       scs.Store
	IdleTimeout time.Duration
	Lifetime    time.Duration
	Secure      bool // mark the cookie Secure (behind HTTPS)
}

// NewSessions returns Sessions stored in opts.Store.
func NewSessions(users *models.UserStore, opts SessionOptions) *Sessions {
	m := scs.New()
	m.Store = opts.Store
	m.IdleTimeout = opts.IdleTimeout
	m.Lifetime = opts.Lifetime
	m.Cookie.Name = CookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = opts.Secure
	m.Cookie.Persist = false
	m.Cookie.Path = "/"
	return &Sessions{manager: m, users: users}
}

// Middleware loads the request's session, runs the rest of the chain, and
// commits the session (or expires the cookie when it was destroyed). It also
// loads the signed-in user when the session belongs to this host's tenant: a
// session of tenant A presented on tenant B's host is not signed in there.
func (s *Sessions) Middleware(c *fiber.Ctx) error {
	ctx, err := s.manager.Load(c.UserContext(), c.Cookies(CookieName))
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	c.SetUserContext(ctx)
	c.Locals(sessionLoadedKey{}, true)
	c.Vary(fiber.HeaderCookie)
	if err := s.loadUser(c); err != nil {
		return err
	}
	chainErr := c.Next()
	if err := s.commit(c); err != nil {
		return errors.Join(chainErr, err)
	}
	return chainErr
}

func (s *Sessions) loadUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if !s.manager.Exists(ctx, sessionUserKey) {
		return nil
	}
	tenant := Tenant(c)
	if s.manager.GetInt64(ctx, sessionTenantKey) != tenant.ID {
		return nil
	}
	u, err := s.users.ByID(ctx, tenant.ID, s.manager.GetInt64(ctx, sessionUserKey))
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Status != models.UserActive) {
		// The account was removed or disabled since sign-in: end the session.
		return s.manager.Destroy(ctx)
	}
	if err != nil {
		return fmt.Errorf("load session user: %w", err)
	}
	setUser(c, &u)
	return nil
}

func (s *Sessions) commit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	switch s.manager.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.manager.Commit(ctx)
		if err != nil {
			return fmt.Errorf("commit session: %w", err)
		}
		s.writeCookie(c, token, expiry)
	case scs.Destroyed:
		s.writeCookie(c, "", time.Time{})
	}
	return nil
}

func (s *Sessions) writeCookie(c *fiber.Ctx, token string, expiry time.Time) {
	ck := &fiber.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		HTTPOnly: true,
		Secure:   s.manager.Cookie.Secure,
		SameSite: fiber.CookieSameSiteLaxMode,
	}
	if expiry.IsZero() {
		ck.Expires = time.Unix(1, 0)
		ck.MaxAge = -1
	}
	c.Cookie(ck)
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// SignIn starts a signed-in session for u with a fresh token, so a token
// planted before sign-in is useless after it.
func (s *Sessions) SignIn(c *fiber.Ctx, u models.User) error {
	ctx := c.UserContext()
	if err := s.manager.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	s.manager.Put(ctx, sessionTenantKey, u.TenantID)
	s.manager.Put(ctx, sessionUserKey, u.ID)
	s.manager.Put(ctx, sessionCSRFKey, newToken())
	setUser(c, &u)
	return nil
}

// SignOut deletes the session from the store and expires the cookie.
func (s *Sessions) SignOut(c *fiber.Ctx) error {
	setUser(c, nil)
	return s.manager.Destroy(c.UserContext())
}

// CSRFToken returns the session's CSRF token, creating it on first use. It
// returns "" for requests that have no session (unknown hosts, static files).
func (s *Sessions) CSRFToken(c *fiber.Ctx) string {
	if c.Locals(sessionLoadedKey{}) == nil {
		return ""
	}
	ctx := c.UserContext()
	tok := s.manager.GetString(ctx, sessionCSRFKey)
	if tok == "" {
		tok = newToken()
		s.manager.Put(ctx, sessionCSRFKey, tok)
	}
	return tok
}

// ErrCSRF is returned for a state-changing request without the session's
// CSRF token.
var ErrCSRF = errors.New("the form has expired or was sent from another site; reload the page and try again")

// CSRFHeader and CSRFField carry the token: htmx sends the header (app.js
// adds it to every request), plain forms the hidden field.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "_csrf"
)

// CheckCSRF is middleware that refuses POST, PUT, PATCH and DELETE requests
// whose token does not match the session's.
func (s *Sessions) CheckCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	want := s.manager.GetString(c.UserContext(), sessionCSRFKey)
	got := c.Get(CSRFHeader)
	if got == "" {
		got = c.FormValue(CSRFField)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return fiber.NewError(fiber.StatusForbidden, ErrCSRF.Error())
	}
	return c.Next()
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
