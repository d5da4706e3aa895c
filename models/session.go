package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/learnlens/learnlens/database"
)

// SessionStore keeps sign-in sessions in the sessions table: scs's encoded
// data under a secret token, until an expiry. Sessions are not tenant-owned:
// the token finds one, and its data names the tenant.
type SessionStore struct{ db *database.DB }

// NewSessionStore returns a SessionStore on db.
func NewSessionStore(db *database.DB) *SessionStore { return &SessionStore{db: db} }

// Find returns the data of an unexpired session and when it expires.
func (s *SessionStore) Find(ctx context.Context, token string) (data []byte, expiry time.Time, err error) {
	err = s.db.SQL().QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = $1 AND expiry > now()`, token).
		Scan(&data, &expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("find session: %w", err)
	}
	return data, expiry, nil
}

// Commit stores a session's data and expiry. Replacing the data of an
// existing session is announced, since other instances may hold the old.
func (s *SessionStore) Commit(ctx context.Context, token string, data []byte, expiry time.Time) error {
	var replaced bool
	err := s.db.SQL().QueryRowContext(ctx, `WITH old AS (SELECT FROM sessions WHERE token = $1)
		INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry
		RETURNING EXISTS (SELECT FROM old)`, token, data, expiry).Scan(&replaced)
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	if replaced {
		return announce(ctx, s.db, AuthChange{Kind: ChangedSession, TokenHash: SessionTokenHash(token)})
	}
	return nil
}

// Extend moves a session's expiry on to expiry, never back. Other instances
// need not hear of it: one whose copy has run out reads the session again.
func (s *SessionStore) Extend(ctx context.Context, token string, expiry time.Time) error {
	_, err := s.db.SQL().ExecContext(ctx, `UPDATE sessions SET expiry = $2 WHERE token = $1 AND expiry < $2`, token, expiry)
	if err != nil {
		return fmt.Errorf("extend session: %w", err)
	}
	return nil
}

// Delete removes a session (sign-out) and announces it, so that no
// instance accepts its token any more.
func (s *SessionStore) Delete(ctx context.Context, token string) error {
	if _, err := s.db.SQL().ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return announce(ctx, s.db, AuthChange{Kind: ChangedSession, TokenHash: SessionTokenHash(token)})
}

// DeleteExpired removes the sessions whose expiry has passed. Nobody needs
// telling: an expired session is refused by its expiry wherever it is held.
func (s *SessionStore) DeleteExpired(ctx context.Context) error {
	if _, err := s.db.SQL().ExecContext(ctx, `DELETE FROM sessions WHERE expiry < now()`); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// SigningKey returns the shared secret key called name (see migration
// 00008): every instance reads the same one.
func (s *SessionStore) SigningKey(ctx context.Context, name string) ([]byte, error) {
	var key []byte
	err := s.db.SQL().QueryRowContext(ctx, `SELECT key FROM signing_keys WHERE name = $1`, name).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("signing key %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read signing key %q: %w", name, err)
	}
	return key, nil
}

// Each calls fn with the token and data of every unexpired session, for
// work that must look inside them (the tenant a session belongs to is in
// its data). Rows are streamed.
func (s *SessionStore) Each(ctx context.Context, fn func(token string, data []byte) error) error {
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT token, data FROM sessions WHERE expiry > now()`)
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var token string
		var data []byte
		if err := rows.Scan(&token, &data); err != nil {
			return fmt.Errorf("read sessions: %w", err)
		}
		if err := fn(token, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DeleteMany removes the sessions of tokens at once and announces each, so
// that no instance accepts them any more.
func (s *SessionStore) DeleteMany(ctx context.Context, tokens []string) error {
	if len(tokens) == 0 {
		return nil
	}
	if _, err := s.db.SQL().ExecContext(ctx, `DELETE FROM sessions WHERE token = ANY($1)`, tokens); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	for _, token := range tokens {
		if err := announce(ctx, s.db, AuthChange{Kind: ChangedSession, TokenHash: SessionTokenHash(token)}); err != nil {
			return err
		}
	}
	return nil
}
