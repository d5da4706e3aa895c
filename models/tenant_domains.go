package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// DomainTakenError is returned when a domain asked for belongs to another
// tenant: a host name serves one tenant, an email domain signs in to one.
type DomainTakenError struct{ Domain string }

func (e *DomainTakenError) Error() string {
	return fmt.Sprintf("%s belongs to another organisation", e.Domain)
}

// domainName is a DNS name of at least two labels, each of letters, digits
// and inner hyphens.
var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseDomains splits a list of domains separated by commas, spaces or
// newlines, lower-cased and without repeats; an entry that is not a domain
// name is an error naming it.
func ParseDomains(list string) ([]string, error) {
	var out []string
	for _, d := range strings.FieldsFunc(strings.ToLower(list), func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		d = strings.TrimPrefix(strings.TrimSuffix(d, "."), "@")
		if len(d) > 253 || !domainName.MatchString(d) {
			return nil, fmt.Errorf("%q is not a domain name", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// SetEmailDomains makes domains the email domains whose users sign in to
// tenantID on the bare base domain, refusing (DomainTakenError) a domain
// another tenant holds.
func (s *TenantStore) SetEmailDomains(ctx context.Context, tenantID int64, domains []string) error {
	return s.setDomains(ctx, tenantID, DomainEmail, domains)
}

// SetHostDomains makes hosts the custom host names that serve tenantID,
// beside its <slug>.<base domain>, refusing a host another tenant holds.
func (s *TenantStore) SetHostDomains(ctx context.Context, tenantID int64, hosts []string) error {
	return s.setDomains(ctx, tenantID, DomainHost, hosts)
}

func (s *TenantStore) setDomains(ctx context.Context, tenantID int64, kind string, domains []string) error {
	err := s.db.Platform(ctx, func(tx *gorm.DB) error { return replaceDomains(tx, tenantID, kind, domains) })
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(tenantID))
}

// replaceDomains makes domains the tenant's domains of kind inside tx, a
// platform-wide transaction (it must see every tenant's domains).
func replaceDomains(tx *gorm.DB, tenantID int64, kind string, domains []string) error {
	if len(domains) == 0 {
		return tx.Exec(`DELETE FROM tenant_domains WHERE tenant_id = ? AND kind = ?`, tenantID, kind).Error
	}
	var taken []string
	if err := tx.Raw(`SELECT domain FROM tenant_domains WHERE kind = ? AND domain IN ? AND tenant_id <> ? ORDER BY domain`,
		kind, domains, tenantID).Scan(&taken).Error; err != nil {
		return err
	}
	if len(taken) > 0 {
		return &DomainTakenError{Domain: taken[0]}
	}
	if err := tx.Exec(`DELETE FROM tenant_domains WHERE tenant_id = ? AND kind = ? AND domain NOT IN ?`,
		tenantID, kind, domains).Error; err != nil {
		return err
	}
	for _, d := range domains {
		err := tx.Exec(`INSERT INTO tenant_domains (tenant_id, kind, domain) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, kind, domain) DO NOTHING`, tenantID, kind, d).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return &DomainTakenError{Domain: d} // claimed by another tenant meanwhile
		}
		if err != nil {
			return fmt.Errorf("add domain %s: %w", d, err)
		}
	}
	return nil
}

// ErrSlugTaken is returned when a new tenant's slug is another's.
var ErrSlugTaken = errors.New("slug taken")

// CreateWithInvitation creates a customer tenant with its email domains and
// an invitation of its first tenant admin, in one transaction, and returns
// the tenant and the invitation's token.
func (s *TenantStore) CreateWithInvitation(ctx context.Context, nt NewTenant, emailDomains []string, adminEmail string, by Creator) (Tenant, string, error) {
	t := Tenant{Slug: nt.Slug, Name: nt.Name, Kind: "customer", Status: TenantActive, TimeZone: nt.TimeZone, BrandColor: "#4f46e5"}
	var token string
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		var exists bool
		if err := tx.Raw(`SELECT EXISTS (SELECT FROM tenants WHERE slug = ?)`, t.Slug).Scan(&exists).Error; err != nil {
			return err
		}
		if exists {
			return ErrSlugTaken
		}
		err := tx.Omit("ID", "CreatedAt", "UpdatedAt").Create(&t).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return ErrSlugTaken
		}
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", nt.Slug, err)
		}
		if err := replaceDomains(tx, t.ID, DomainEmail, emailDomains); err != nil {
			return err
		}
		l := OneTimeLink{TenantID: t.ID, Kind: LinkInvitation, Email: strings.ToLower(adminEmail), Role: RoleTenantAdmin}
		token, err = insertLink(tx, &l, by, InvitationTTL)
		return err
	})
	if err != nil {
		return Tenant{}, "", err
	}
	return t, token, announce(ctx, s.db, tenantChanged(t.ID))
}

// TenantChange is what the platform admin's edit page sets of a tenant
// here; its time zone changes through pipeline.SetTimeZone, which derives
// the tenant's local days again.
type TenantChange struct {
	Name                      string
	EmailDomains, HostDomains []string
}

// Update sets a customer tenant's name, email domains and custom host
// names in one transaction; a domain another tenant holds is refused
// (DomainTakenError), an id that is not a customer's ErrNotFound.
func (s *TenantStore) Update(ctx context.Context, id int64, ch TenantChange) error {
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE tenants SET name = ?, updated_at = now() WHERE id = ? AND kind = 'customer'`,
			ch.Name, id)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		if err := replaceDomains(tx, id, DomainEmail, ch.EmailDomains); err != nil {
			return err
		}
		return replaceDomains(tx, id, DomainHost, ch.HostDomains)
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(id))
}

// Domains returns tenantID's domains of kind, in order.
func (s *TenantStore) Domains(ctx context.Context, tenantID int64, kind string) ([]string, error) {
	var ds []string
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT domain FROM tenant_domains WHERE tenant_id = ? AND kind = ? ORDER BY domain`, tenantID, kind).Scan(&ds).Error
	})
	return ds, err
}
