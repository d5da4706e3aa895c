package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// CookieName is the name of the session cookie.
const CookieName = "learnlens_session"

// CSRFCookieName is the name of the cookie that carries an anonymous
// visitor's CSRF nonce (see CSRFToken).
const CSRFCookieName = "learnlens_csrf"

// idleSlack is how far a session's stored expiry may fall behind the idle
// deadline (now + IdleTimeout) before a request moves it on: sessions are
// written at most once a minute, not on every request, so the effective idle
// timeout is between IdleTimeout minus a minute and IdleTimeout.
const idleSlack = time.Minute

type (
	// sessionLoadedKey marks requests whose session Middleware loaded.
	sessionLoadedKey struct{}
	// sessionChangedKey marks requests that changed the session's data,
	// which must then be committed.
	sessionChangedKey struct{}
	// csrfNonceKey holds the CSRF nonce of an anonymous request once
	// CSRFToken has chosen it.
	csrfNonceKey struct{}
)

const (
	sessionTenantKey = "tenant_id"
	sessionUserKey   = "user_id"
	sessionCSRFKey   = "csrf"
	// A sign-in waiting for its second factor: the user whose password
	// was right, when, and how many codes were wrong since.
	sessionMFAUserKey   = "mfa_user_id"
	sessionMFASinceKey  = "mfa_since"
	sessionMFAFailedKey = "mfa_failed"
	// When the session was signed in (Unix nanoseconds), and whether with
	// a second factor.
	sessionSignedInKey = "signed_in"
	sessionWithMFAKey  = "with_mfa"
)

// MFA challenge limits: a pending sign-in lasts mfaPendingFor and allows
// MaxMFAFailures wrong codes; then the password must be entered again
// (which meets the sign-in throttles), so codes cannot be guessed at speed.
const (
	mfaPendingFor  = 5 * time.Minute
	MaxMFAFailures = 5
)

// Sessions keeps server-side sessions (scs, stored in PostgreSQL with the
// Cache in front) and binds them to Fiber. scs is written for net/http and
// Fiber passes no request context, so the middleware drives scs's Load and
// Commit itself and keeps the session in the request's user context. Only
// sign-in creates a session; anonymous visitors have none.
type Sessions struct {
	manager *scs.SessionManager
	store   *sessionStore
	users   *models.UserStore
	cache   *Cache
	csrfKey atomic.Pointer[[]byte] // signs anonymous CSRF tokens; read once from PostgreSQL
}

// SessionOptions configure sessions.
type SessionOptions struct {
	Store       *models.SessionStore
	Cache       *Cache // nil: read tenants' sessions and users from PostgreSQL on every request
	IdleTimeout time.Duration
	Lifetime    time.Duration
	Secure      bool // mark the cookies Secure (behind HTTPS)
}

// NewSessions returns Sessions stored in opts.Store.
func NewSessions(users *models.UserStore, opts SessionOptions) *Sessions {
	store := &sessionStore{db: opts.Store, cache: opts.Cache}
	m := scs.New()
	m.Store = store
	m.Codec = newDecodedSessions()
	m.IdleTimeout = opts.IdleTimeout
	m.Lifetime = opts.Lifetime
	m.Cookie.Name = CookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = opts.Secure
	m.Cookie.Persist = false
	m.Cookie.Path = "/"
	return &Sessions{manager: m, store: store, users: users, cache: opts.Cache}
}

// Middleware loads the request's session, runs the rest of the chain, and
// saves the session: committed when its data changed, destroyed (cookie
// expired) on sign-out, else its idle deadline moved on at most once a
// minute. It also loads the signed-in user when the session belongs to this
// host's tenant: a session of tenant A presented on tenant B's host is not
// signed in there.
func (s *Sessions) Middleware(c *fiber.Ctx) error {
	var stored time.Time // the found session's expiry, set by the store
	ctx := context.WithValue(c.UserContext(), storedExpiryKey{}, &stored)
	ctx, err := s.manager.Load(ctx, c.Cookies(CookieName))
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	c.SetUserContext(ctx)
	c.Locals(sessionLoadedKey{}, true)
	c.Vary(fiber.HeaderCookie)
	if err := s.loadUser(c); err != nil {
		return err
	}
	if s.manager.GetString(ctx, sessionCSRFKey) == "" {
		if err := s.loadCSRFKey(ctx); err != nil {
			return err
		}
	}
	chainErr := c.Next()
	if err := s.save(c, stored); err != nil {
		return errors.Join(chainErr, err)
	}
	return chainErr
}

func (s *Sessions) loadUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if s.manager.Exists(ctx, sessionSupportAdminKey) {
		return s.loadSupport(c)
	}
	if !s.manager.Exists(ctx, sessionUserKey) {
		return nil
	}
	tenant := Tenant(c)
	if s.manager.GetInt64(ctx, sessionTenantKey) != tenant.ID {
		return nil
	}
	id := s.manager.GetInt64(ctx, sessionUserKey)
	u, err := s.cache.user(tenant.ID, id, func() (models.User, error) { return s.users.ByID(ctx, tenant.ID, id) })
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Status != models.UserActive) {
		// The account was removed or disabled since sign-in: end the session.
		return s.manager.Destroy(ctx)
	}
	if err != nil {
		return fmt.Errorf("load session user: %w", err)
	}
	if u.SessionsValidAfter != nil && s.manager.GetInt64(ctx, sessionSignedInKey) < u.SessionsValidAfter.UnixNano() {
		// The password was set through a reset link since this sign-in.
		return s.manager.Destroy(ctx)
	}
	setUser(c, &u)
	return nil
}

// save writes what the request did to the session. scs marks every loaded
// session modified when there is an idle timeout; save commits only real
// changes and otherwise extends the stored expiry when it lags by more
// than idleSlack, never past the absolute lifetime.
func (s *Sessions) save(c *fiber.Ctx, stored time.Time) error {
	ctx := c.UserContext()
	switch {
	case s.manager.Status(ctx) == scs.Destroyed:
		s.writeCookie(c, "", time.Time{})
	case c.Locals(sessionChangedKey{}) != nil:
		token, expiry, err := s.manager.Commit(ctx)
		if err != nil {
			return fmt.Errorf("commit session: %w", err)
		}
		s.writeCookie(c, token, expiry)
	case s.manager.Token(ctx) != "":
		want := time.Now().Add(s.manager.IdleTimeout)
		if deadline := s.manager.Deadline(ctx); deadline.Before(want) {
			want = deadline
		}
		if want.Sub(stored) > idleSlack {
			if err := s.store.extend(ctx, s.manager.Token(ctx), want); err != nil {
				return err
			}
		}
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
	for _, k := range []string{sessionMFAUserKey, sessionMFASinceKey, sessionMFAFailedKey} {
		s.manager.Remove(ctx, k)
	}
	s.manager.Put(ctx, sessionTenantKey, u.TenantID)
	s.manager.Put(ctx, sessionUserKey, u.ID)
	s.manager.Put(ctx, sessionSignedInKey, time.Now().UnixNano())
	s.manager.Put(ctx, sessionCSRFKey, newToken())
	c.Locals(sessionChangedKey{}, true)
	setUser(c, &u)
	return nil
}

// SignInWithSecondFactor is SignIn for a user who has just given their
// second factor; the session remembers it (SignedInWithMFA).
func (s *Sessions) SignInWithSecondFactor(c *fiber.Ctx, u models.User) error {
	if err := s.SignIn(c, u); err != nil {
		return err
	}
	s.manager.Put(c.UserContext(), sessionWithMFAKey, true)
	return nil
}

// SignedInWithMFA reports whether the request's session was signed in
// with a second factor.
func (s *Sessions) SignedInWithMFA(c *fiber.Ctx) bool {
	return User(c) != nil && s.manager.GetBool(c.UserContext(), sessionWithMFAKey)
}

// BeginMFA starts a sign-in that waits for u's second factor: a session
// with a fresh token that is not signed in (no user in it) but remembers
// whose password was right, for mfaPendingFor.
func (s *Sessions) BeginMFA(c *fiber.Ctx, u models.User) error {
	ctx := c.UserContext()
	if err := s.manager.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	s.manager.Remove(ctx, sessionUserKey)
	s.manager.Put(ctx, sessionTenantKey, u.TenantID)
	s.manager.Put(ctx, sessionMFAUserKey, u.ID)
	s.manager.Put(ctx, sessionMFASinceKey, time.Now().Unix())
	s.manager.Put(ctx, sessionMFAFailedKey, 0)
	s.manager.Put(ctx, sessionCSRFKey, newToken())
	c.Locals(sessionChangedKey{}, true)
	return nil
}

// PendingMFA returns the user of this host's tenant whose sign-in waits
// for a second factor, if any and not expired.
func (s *Sessions) PendingMFA(c *fiber.Ctx) (models.User, bool, error) {
	ctx := c.UserContext()
	if !s.manager.Exists(ctx, sessionMFAUserKey) || s.manager.GetInt64(ctx, sessionTenantKey) != Tenant(c).ID {
		return models.User{}, false, nil
	}
	if time.Since(time.Unix(s.manager.GetInt64(ctx, sessionMFASinceKey), 0)) > mfaPendingFor {
		return models.User{}, false, s.manager.Destroy(ctx)
	}
	u, err := s.users.ByID(ctx, Tenant(c).ID, s.manager.GetInt64(ctx, sessionMFAUserKey))
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Status != models.UserActive) {
		return models.User{}, false, s.manager.Destroy(ctx)
	}
	if err != nil {
		return models.User{}, false, err
	}
	return u, true, nil
}

// MFAFailed counts a wrong code of the pending sign-in and reports whether
// it is used up (then the session is gone).
func (s *Sessions) MFAFailed(c *fiber.Ctx) (bool, error) {
	ctx := c.UserContext()
	n := s.manager.GetInt(ctx, sessionMFAFailedKey) + 1
	if n >= MaxMFAFailures {
		return true, s.manager.Destroy(ctx)
	}
	s.manager.Put(ctx, sessionMFAFailedKey, n)
	c.Locals(sessionChangedKey{}, true)
	return false, nil
}

// SignOut deletes the session from the store and expires the cookie.
func (s *Sessions) SignOut(c *fiber.Ctx) error {
	setUser(c, nil)
	return s.manager.Destroy(c.UserContext())
}

// CSRFToken returns the token that state-changing requests must carry:
// a signed-in session's own token (a synchronizer token kept in the
// session), or, for a visitor without a session, an HMAC of a random nonce
// kept in the CSRFCookieName cookie (a signed double-submit token, which
// needs no session row). It returns "" for requests that have no session
// middleware (unknown hosts, static files).
func (s *Sessions) CSRFToken(c *fiber.Ctx) string {
	if c.Locals(sessionLoadedKey{}) == nil {
		return ""
	}
	if tok := s.manager.GetString(c.UserContext(), sessionCSRFKey); tok != "" {
		return tok
	}
	nonce, _ := c.Locals(csrfNonceKey{}).(string)
	if nonce == "" {
		nonce = c.Cookies(CSRFCookieName)
		if len(nonce) != len(newToken()) {
			nonce = newToken()
			c.Cookie(&fiber.Cookie{
				Name: CSRFCookieName, Value: nonce, Path: "/", HTTPOnly: true,
				Secure: s.manager.Cookie.Secure, SameSite: fiber.CookieSameSiteLaxMode,
			})
		}
		c.Locals(csrfNonceKey{}, nonce)
	}
	return s.signCSRF(c, nonce)
}

// signCSRF is the anonymous CSRF token for nonce: an HMAC with the shared
// key, bound to the host's tenant so that a token from one tenant's page
// is worthless on another's.
func (s *Sessions) signCSRF(c *fiber.Ctx, nonce string) string {
	key := s.csrfKey.Load()
	if key == nil {
		return "" // Middleware loads the key first; "" matches nothing
	}
	t, _ := LookupTenant(c)
	mac := hmac.New(sha256.New, *key)
	fmt.Fprintf(mac, "csrf\x00%d\x00%s", t.ID, nonce)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// loadCSRFKey reads the key that signs anonymous CSRF tokens, once: every
// instance reads the same row, so a form served by one instance posts to
// any other.
func (s *Sessions) loadCSRFKey(ctx context.Context) error {
	if s.csrfKey.Load() != nil {
		return nil
	}
	key, err := s.store.db.SigningKey(ctx, "csrf")
	if err != nil {
		return err
	}
	s.csrfKey.Store(&key)
	return nil
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
// whose token does not match the session's, or, without a session, the one
// signed for the CSRF cookie's nonce.
func (s *Sessions) CheckCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	want := s.manager.GetString(c.UserContext(), sessionCSRFKey)
	if nonce := c.Cookies(CSRFCookieName); want == "" && nonce != "" {
		want = s.signCSRF(c, nonce)
	}
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

// EndTenant deletes every session of tenantID (a deleted tenant's, see
// offboarding) and tells every instance, returning how many ended. Only
// sessions held in PostgreSQL are found; that is every signed-in one.
func (s *Sessions) EndTenant(ctx context.Context, tenantID int64) (int, error) {
	var tokens []string
	err := s.store.db.Each(ctx, func(token string, data []byte) error {
		_, values, err := s.manager.Codec.Decode(data)
		if err != nil {
			return nil // not a session this code can read, so not one it signs in
		}
		if id, ok := values[sessionTenantKey].(int64); ok && id == tenantID {
			tokens = append(tokens, token)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = s.store.db.DeleteMany(ctx, tokens)
	for _, token := range tokens {
		s.cache.dropSession(token)
	}
	return len(tokens), err
}
