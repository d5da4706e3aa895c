package auth

import (
	"context"
	"errors"
	"time"

	"github.com/learnlens/learnlens/models"
)

// sessionStore is the scs store of Sessions: models.SessionStore with the
// Cache in front. Find is answered from memory when the session is cached
// and unexpired; Commit and Delete write to PostgreSQL, then to the cache.
type sessionStore struct {
	db    *models.SessionStore
	cache *Cache
}

// storedExpiryKey carries a *time.Time in the context given to scs's Load,
// which FindCtx sets to the found session's expiry, so that Middleware
// knows whether the idle deadline needs moving without asking again.
type storedExpiryKey struct{}

// FindCtx returns the data of the unexpired session token.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	e, err := s.cache.session(token, func() (cachedSession, error) {
		data, expiry, err := s.db.Find(ctx, token)
		return cachedSession{data: data, expiry: expiry}, err
	})
	if errors.Is(err, models.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p, ok := ctx.Value(storedExpiryKey{}).(*time.Time); ok {
		*p = e.expiry
	}
	return e.data, true, nil
}

// CommitCtx stores the session's data until expiry.
func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.cache.writeSession(token, cachedSession{data: b, expiry: expiry}, func() error {
		return s.db.Commit(ctx, token, b, expiry)
	})
}

// DeleteCtx ends the session here at once and, through the store's
// notification, on every other instance; it returns once that notification
// has come back to this instance (or after a second).
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	heard := s.cache.awaitEcho(models.AuthChange{Kind: models.ChangedSession, TokenHash: models.SessionTokenHash(token)})
	err := s.db.Delete(ctx, token)
	s.cache.dropSession(token)
	heard()
	return err
}

// extend moves the session's expiry on to expiry.
func (s *sessionStore) extend(ctx context.Context, token string, expiry time.Time) error {
	return s.cache.extendSession(token, expiry, func() error {
		return s.db.Extend(ctx, token, expiry)
	})
}

// Find, Commit and Delete complete scs.Store; scs calls the Ctx methods.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context.
func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context.
func (s *sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}
