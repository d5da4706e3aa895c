package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// Credential is an HTTP Basic key/secret pair that lets an LMS or authoring
// tool send statements to one tenant's xAPI endpoint.
type Credential struct {
	TenantID   int64
	ID         int64
	Key        string
	SecretHash []byte
	Name       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	// LastUsedAt and StatementsReceived are kept by the ingest path: the
	// time of the last batch that stored statements, and how many it has
	// stored in all.
	LastUsedAt         *time.Time
	StatementsReceived int64
}

// TableName names the table.
func (Credential) TableName() string { return "xapi_credentials" }

// ErrBadCredential is returned for an unknown key, a wrong secret or a
// revoked credential alike.
var ErrBadCredential = errors.New("unknown key, wrong secret or revoked credential")

// CredentialStore creates and checks xAPI credentials.
type CredentialStore struct{ db *database.DB }

// NewCredentialStore returns a CredentialStore on db.
func NewCredentialStore(db *database.DB) *CredentialStore { return &CredentialStore{db: db} }

// Create makes a credential for tenantID with a random key and secret and
// returns the secret, which is not stored and cannot be shown again.
func (s *CredentialStore) Create(ctx context.Context, tenantID int64, name string) (Credential, string, error) {
	key, secret := "ll"+randomToken(12), randomToken(32)
	c, err := s.CreateWithSecret(ctx, tenantID, name, key, secret)
	return c, secret, err
}

// CreateWithSecret makes a credential with a chosen key and secret (for
// demo data and tests).
func (s *CredentialStore) CreateWithSecret(ctx context.Context, tenantID int64, name, key, secret string) (Credential, error) {
	if strings.TrimSpace(name) == "" {
		return Credential{}, errors.New("a credential needs a name saying who uses it")
	}
	sum := sha256.Sum256([]byte(secret))
	c := Credential{TenantID: tenantID, Key: key, SecretHash: sum[:], Name: name}
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Omit("ID", "CreatedAt", "RevokedAt", "LastUsedAt", "StatementsReceived").Create(&c).Error
	})
	if err != nil {
		return Credential{}, fmt.Errorf("create credential: %w", err)
	}
	return c, nil
}

// Verify returns the credential with that key if the secret matches and it
// is not revoked. The key decides the tenant.
func (s *CredentialStore) Verify(ctx context.Context, key, secret string) (Credential, error) {
	var c Credential
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Where("key = ? AND revoked_at IS NULL", key).Take(&c).Error
	})
	sum := sha256.Sum256([]byte(secret))
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1) {
		return Credential{}, ErrBadCredential
	}
	if err != nil {
		return Credential{}, err
	}
	return c, nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.NewReplacer("-", "", "_", "").Replace(base64.RawURLEncoding.EncodeToString(b))
}
