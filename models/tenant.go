package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// PlatformTenantID is the id of the platform realm: the pseudo-tenant whose
// users are the platform admins, reached on the bare base domain.
const PlatformTenantID int64 = 0

// Tenant statuses.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is a customer organisation (or, with ID 0, the platform realm).
type Tenant struct {
	ID         int64
	Slug       string
	Name       string
	Kind       string
	Status     string
	TimeZone   string
	BrandColor string
	LogoURL    string
	// RequireAdminMFA makes the tenant's admins set up and use a second
	// factor.
	RequireAdminMFA bool
	// The tenant's own limits per xAPI credential; nil: the deployment's.
	XAPIRate        *int `gorm:"column:xapi_rate"`
	XAPIBurst       *int `gorm:"column:xapi_burst"`
	XAPIConcurrency *int `gorm:"column:xapi_concurrency"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// IsPlatform reports whether t is the platform realm.
func (t Tenant) IsPlatform() bool { return t.ID == PlatformTenantID }

// Suspended reports whether the tenant's users are barred from signing in.
func (t Tenant) Suspended() bool { return t.Status == TenantSuspended }

// TenantDomain is a host name serving a tenant, or an email domain whose
// users sign in to it.
type TenantDomain struct {
	TenantID   int64
	Kind       string // "host" or "email"
	Domain     string
	VerifiedAt *time.Time
	CreatedAt  time.Time
}

// Domain kinds.
const (
	DomainHost  = "host"
	DomainEmail = "email"
)

// TenantStore reads and writes tenants. Its lookups are platform-level: they
// run before any tenant is known. Every change to a tenant or its domains is
// announced on AuthChannel once committed.
type TenantStore struct{ db *database.DB }

// NewTenantStore returns a TenantStore on db.
func NewTenantStore(db *database.DB) *TenantStore { return &TenantStore{db: db} }

// BySlug returns the customer tenant with that slug.
func (s *TenantStore) BySlug(ctx context.Context, slug string) (Tenant, error) {
	var t Tenant
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Where("slug = ? AND kind = 'customer'", slug).Take(&t).Error
	})
	return t, notFound(err)
}

// ByID returns the tenant with that id. It reads in the tenant's own scope,
// so it needs no platform-wide access.
func (s *TenantStore) ByID(ctx context.Context, id int64) (Tenant, error) {
	var t Tenant
	err := s.db.Tenant(ctx, id, func(tx *gorm.DB) error { return tx.Take(&t, id).Error })
	return t, notFound(err)
}

// ByDomain returns the tenant owning a host name or email domain.
func (s *TenantStore) ByDomain(ctx context.Context, kind, domain string) (Tenant, error) {
	var t Tenant
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT t.* FROM tenants t JOIN tenant_domains d ON d.tenant_id = t.id
			WHERE d.kind = ? AND d.domain = ? AND t.kind = 'customer'`, kind, strings.ToLower(domain)).Take(&t).Error
	})
	return t, notFound(err)
}

// Platform returns the platform realm.
func (s *TenantStore) Platform(ctx context.Context) (Tenant, error) {
	var t Tenant
	err := s.db.Platform(ctx, func(tx *gorm.DB) error { return tx.Take(&t, PlatformTenantID).Error })
	return t, notFound(err)
}

// NewTenant is what creating a tenant needs.
type NewTenant struct {
	Slug, Name, TimeZone string
	// Domains are host names (Kind "host") and email domains (Kind "email").
	Domains []TenantDomain
}

// Create inserts a customer tenant and its domains.
func (s *TenantStore) Create(ctx context.Context, nt NewTenant) (Tenant, error) {
	t := Tenant{Slug: nt.Slug, Name: nt.Name, Kind: "customer", Status: TenantActive, TimeZone: nt.TimeZone, BrandColor: "#4f46e5"}
	if t.TimeZone == "" {
		t.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil {
		return Tenant{}, fmt.Errorf("time zone %q: %w", t.TimeZone, err)
	}
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit("ID", "CreatedAt", "UpdatedAt").Create(&t).Error; err != nil {
			return fmt.Errorf("create tenant %s: %w", nt.Slug, err)
		}
		for _, d := range nt.Domains {
			d.TenantID = t.ID
			d.Domain = strings.ToLower(d.Domain)
			if err := tx.Omit("CreatedAt").Create(&d).Error; err != nil {
				return fmt.Errorf("add domain %s: %w", d.Domain, err)
			}
		}
		return nil
	})
	if err != nil {
		return Tenant{}, err
	}
	// A host asked for before it was this tenant's may be remembered as unknown.
	return t, announce(ctx, s.db, tenantChanged(t.ID))
}

// SetStatus suspends or re-activates a customer tenant, on every instance
// from its next request on.
func (s *TenantStore) SetStatus(ctx context.Context, id int64, status string) error {
	return s.updateCustomer(ctx, id, `status = ?`, status)
}

// updateCustomer sets columns (an UPDATE's SET list before updated_at) of
// customer tenant id, ErrNotFound for any other id, and tells every
// instance's caches.
func (s *TenantStore) updateCustomer(ctx context.Context, id int64, set string, values ...any) error {
	return s.update(ctx, s.db.Platform, " AND kind = 'customer'", id, set, values...)
}

// update sets columns of tenant id (and where, more conditions) in a
// transaction run by in, ErrNotFound when no row matches, and tells every
// instance's caches.
func (s *TenantStore) update(ctx context.Context, in func(context.Context, func(*gorm.DB) error) error, where string, id int64, set string, values ...any) error {
	err := in(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE tenants SET `+set+`, updated_at = now() WHERE id = ?`+where, append(values, id)...)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		return res.Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(id))
}

// SetRequireAdminMFA sets whether the tenant's admins must use MFA.
func (s *TenantStore) SetRequireAdminMFA(ctx context.Context, id int64, require bool) error {
	err := s.db.Tenant(ctx, id, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE tenants SET require_admin_mfa = ?, updated_at = now() WHERE id = ?`, require, id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(id))
}

// SetXAPILimits sets the tenant's own limits per xAPI credential (nil: the
// deployment's default), on every instance from its next request on.
func (s *TenantStore) SetXAPILimits(ctx context.Context, id int64, rate, burst, concurrency *int) error {
	return s.updateCustomer(ctx, id, `xapi_rate = ?, xapi_burst = ?, xapi_concurrency = ?`, rate, burst, concurrency)
}

// AddDomain lets a tenant be reached at a host name (kind "host") or its
// users sign in on the bare domain with an email domain (kind "email").
func (s *TenantStore) AddDomain(ctx context.Context, d TenantDomain) error {
	d.Domain = strings.ToLower(d.Domain)
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit("CreatedAt").Create(&d).Error; err != nil {
			return fmt.Errorf("add domain %s: %w", d.Domain, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(d.TenantID))
}

// RemoveDomain takes a host name or email domain from a tenant: a removed
// host serves nobody from the next request on, on every instance.
func (s *TenantStore) RemoveDomain(ctx context.Context, tenantID int64, kind, domain string) error {
	err := s.db.Platform(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM tenant_domains WHERE tenant_id = ? AND kind = ? AND domain = ?`,
			tenantID, kind, strings.ToLower(domain))
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrNotFound
		}
		return res.Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(tenantID))
}
