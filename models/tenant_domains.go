package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// DomainError is a domain refused for a tenant: malformed, or held by
// another tenant (a domain serves one tenant only).
type DomainError struct {
	Domain string
	Taken  bool // another tenant holds it
}

func (e *DomainError) Error() string {
	if e.Taken {
		return fmt.Sprintf("%s belongs to another organisation", e.Domain)
	}
	return fmt.Sprintf("%q is not a domain name (like example.com)", e.Domain)
}

// domainPattern is a lower-case DNS name of at least two labels.
var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// EmailDomains returns the email domains whose users sign in to tenantID
// on the bare domain, sorted.
func (s *TenantStore) EmailDomains(ctx context.Context, tenantID int64) ([]string, error) {
	var ds []string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT domain FROM tenant_domains WHERE tenant_id = ? AND kind = ? ORDER BY domain`,
			tenantID, DomainEmail).Scan(&ds).Error
	})
	return ds, err
}

// SetEmailDomains makes domains (lower-cased, duplicates dropped) exactly
// the email domains of tenantID, in one transaction. A malformed domain or
// one another tenant holds is refused with a *DomainError naming it, and
// nothing changes.
func (s *TenantStore) SetEmailDomains(ctx context.Context, tenantID int64, domains []string) error {
	var want []string
	seen := map[string]bool{}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || seen[d] {
			continue
		}
		if len(d) > 253 || !domainPattern.MatchString(d) {
			return &DomainError{Domain: d}
		}
		seen[d] = true
		want = append(want, d)
	}
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM tenant_domains WHERE tenant_id = ? AND kind = ? AND NOT domain = ANY(?::text[])`,
			tenantID, DomainEmail, "{"+strings.Join(want, ",")+"}").Error; err != nil {
			return err
		}
		for _, d := range want {
			err := tx.Exec(`INSERT INTO tenant_domains (tenant_id, kind, domain) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id, kind, domain) DO NOTHING`, tenantID, DomainEmail, d).Error
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "tenant_domains_lookup" {
				return &DomainError{Domain: d, Taken: true}
			}
			if err != nil {
				return fmt.Errorf("add email domain %s: %w", d, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(tenantID))
}
