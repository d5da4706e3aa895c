package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// API client scopes: what a client's tokens may do in its tenant.
const (
	ScopeDashboardsRead = "dashboards:read" // dashboard sections, table pages, exports, the organisation tree
	ScopeLearnersRead   = "learners:read"   // learner records
	ScopeImportsManage  = "imports:manage"  // imports and requirements
	ScopeUsersManage    = "users:manage"    // users and invitations
	ScopeDataManage     = "data:manage"     // purging statements before a date
)

// Scopes lists every scope, in the order pages show them.
var Scopes = []string{ScopeDashboardsRead, ScopeLearnersRead, ScopeImportsManage, ScopeUsersManage, ScopeDataManage}

// APIClient is an OAuth 2.0 client (client-credentials grant) of one
// tenant: a BI tool, an HR system or a script. It sees the whole tenant,
// limited by its scopes.
type APIClient struct {
	TenantID   int64
	ID         int64
	ClientID   string
	Name       string
	Scopes     ScopeList
	SecretHash []byte
	CreatedAt  time.Time
	RotatedAt  *time.Time
	RevokedAt  *time.Time
	// LastUsedAt is when the client was last given a token.
	LastUsedAt *time.Time
}

// ScopeList is a client's scopes, stored as a PostgreSQL text[] (scope
// names hold no commas, quotes or braces).
type ScopeList []string

// Value writes the list as an array literal.
func (l ScopeList) Value() (driver.Value, error) { return "{" + strings.Join(l, ",") + "}", nil }

// Scan reads an array literal.
func (l *ScopeList) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scopes: cannot read %T", src)
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	*l = nil
	if s != "" {
		*l = strings.Split(s, ",")
	}
	return nil
}

// String is the list as OAuth writes it: space-separated.
func (l ScopeList) String() string { return strings.Join(l, " ") }

// TableName names the table.
func (APIClient) TableName() string { return "api_clients" }

// SecretVersion names the client's current secret: when it was last
// rotated (Unix microseconds), 0 for the first. Tokens carry it.
func (c APIClient) SecretVersion() int64 {
	if c.RotatedAt == nil {
		return 0
	}
	return c.RotatedAt.UnixMicro()
}

// Has reports whether the client has scope.
func (c APIClient) Has(scope string) bool { return slices.Contains(c.Scopes, scope) }

// ErrBadClient is returned for an unknown client id, a wrong secret or a
// revoked client alike.
var ErrBadClient = errors.New("unknown client, wrong secret or revoked client")

// APIClientStore creates, checks and ends a tenant's API clients. Every
// rotation and revocation is announced on AuthChannel once committed.
type APIClientStore struct{ db *database.DB }

// NewAPIClientStore returns an APIClientStore on db.
func NewAPIClientStore(db *database.DB) *APIClientStore { return &APIClientStore{db: db} }

// CheckScopes returns the scopes of a list, in Scopes' order, or an error
// naming the first unknown one; an empty list is an error.
func CheckScopes(scopes []string) ([]string, error) {
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return nil, fmt.Errorf("unknown scope %q: use %s", s, strings.Join(Scopes, ", "))
		}
	}
	out := slices.DeleteFunc(slices.Clone(Scopes), func(s string) bool { return !slices.Contains(scopes, s) })
	if len(out) == 0 {
		return nil, errors.New("choose at least one scope")
	}
	return out, nil
}

// Create makes a client of tenantID with a random client id and secret
// and returns the secret, which is not stored and cannot be shown again.
func (s *APIClientStore) Create(ctx context.Context, tenantID int64, name string, scopes []string) (APIClient, string, error) {
	secret := randomToken(32)
	c, err := s.CreateWithSecret(ctx, tenantID, name, "llc"+strings.ToLower(randomToken(12)), secret, scopes)
	return c, secret, err
}

// CreateWithSecret makes a client with a chosen client id and secret (for
// demo data and tests).
func (s *APIClientStore) CreateWithSecret(ctx context.Context, tenantID int64, name, clientID, secret string, scopes []string) (APIClient, error) {
	if strings.TrimSpace(name) == "" {
		return APIClient{}, errors.New("an API client needs a name saying who uses it")
	}
	scopes, err := CheckScopes(scopes)
	if err != nil {
		return APIClient{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	c := APIClient{TenantID: tenantID, ClientID: clientID, Name: name, Scopes: ScopeList(scopes), SecretHash: sum[:]}
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Omit("ID", "CreatedAt", "RotatedAt", "RevokedAt", "LastUsedAt").Create(&c).Error
	})
	if err != nil {
		return APIClient{}, fmt.Errorf("create API client: %w", err)
	}
	return c, nil
}

// List returns the clients of tenantID, revoked ones last, newest first.
func (s *APIClientStore) List(ctx context.Context, tenantID int64) ([]APIClient, error) {
	var cs []APIClient
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ?", tenantID).Order("revoked_at IS NOT NULL, created_at DESC, id DESC").Find(&cs).Error
	})
	return cs, err
}

// ByClientID returns the client of tenantID with that client id, revoked
// or not; another tenant's is ErrNotFound.
func (s *APIClientStore) ByClientID(ctx context.Context, tenantID int64, clientID string) (APIClient, error) {
	var c APIClient
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Where("tenant_id = ? AND client_id = ?", tenantID, clientID).Take(&c).Error
	})
	return c, notFound(err)
}

// Verify returns the live client of tenantID with that client id if the
// secret matches, and records that it was used. Anything else is
// ErrBadClient; found reports whether the client id exists in the tenant
// (for the audit log), with its row.
func (s *APIClientStore) Verify(ctx context.Context, tenantID int64, clientID, secret string) (c APIClient, found bool, err error) {
	c, err = s.ByClientID(ctx, tenantID, clientID)
	sum := sha256.Sum256([]byte(secret))
	switch {
	case errors.Is(err, ErrNotFound):
		return APIClient{}, false, ErrBadClient
	case err != nil:
		return APIClient{}, false, err
	case subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1 || c.RevokedAt != nil:
		return c, true, ErrBadClient
	}
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE api_clients SET last_used_at = now() WHERE tenant_id = ? AND id = ?`, tenantID, c.ID).Error
	})
	return c, true, err
}

// Rotate gives client id of tenantID a new random secret and returns it;
// it cannot be shown again. The old secret stops working at once, and so
// do the tokens given before, on every instance.
func (s *APIClientStore) Rotate(ctx context.Context, tenantID, id int64) (APIClient, string, error) {
	secret := randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	c, err := s.change(ctx, tenantID, id, `secret_hash = ?, rotated_at = now()`, sum[:])
	return c, secret, err
}

// Revoke ends client id of tenantID: its secret and every token it holds
// are refused from the next request on, on every instance. Revoking twice
// is ErrNotFound.
func (s *APIClientStore) Revoke(ctx context.Context, tenantID, id int64) (APIClient, error) {
	return s.change(ctx, tenantID, id, `revoked_at = now()`)
}

// change updates a live client and announces it on AuthChannel.
func (s *APIClientStore) change(ctx context.Context, tenantID, id int64, set string, values ...any) (APIClient, error) {
	c, err := changeLive[APIClient](ctx, s.db, "api_clients", tenantID, id, set, values...)
	if err != nil {
		return APIClient{}, err
	}
	return c, announce(ctx, s.db, ClientChanged(tenantID, c.ClientID))
}
