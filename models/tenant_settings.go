package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"gorm.io/gorm"
)

// Logo is a tenant's logo as uploaded.
type Logo struct {
	ContentType string
	Data        []byte
	SHA256      []byte
	UpdatedAt   time.Time
}

// LogoPath is where a tenant's logo is served on its host; the query names
// the content, so a new logo is a new URL and each can be cached for good.
const LogoPath = "/logo"

// SetProfile sets the tenant's display name and brand colour (#rrggbb,
// lower case; the table checks it), on every instance from its next
// request on.
func (s *TenantStore) SetProfile(ctx context.Context, id int64, name, brandColor string) error {
	return s.updateOwn(ctx, id, `name = ?, brand_color = ?`, name, brandColor)
}

// SetLogo stores the tenant's logo (already checked to be a PNG, JPEG or
// safe SVG of contentType) and points the tenant's logo URL at it.
func (s *TenantStore) SetLogo(ctx context.Context, id int64, contentType string, data []byte) error {
	sum := sha256.Sum256(data)
	err := s.db.Tenant(ctx, id, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO tenant_logos (tenant_id, content_type, data, sha256) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
				sha256 = excluded.sha256, updated_at = now()`, id, contentType, data, sum[:]).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE tenants SET logo_url = ?, updated_at = now() WHERE id = ?`,
			LogoPath+"?v="+hex.EncodeToString(sum[:8]), id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(id))
}

// RemoveLogo deletes the tenant's logo; the shell shows the brand colour.
func (s *TenantStore) RemoveLogo(ctx context.Context, id int64) error {
	err := s.db.Tenant(ctx, id, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM tenant_logos WHERE tenant_id = ?`, id).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE tenants SET logo_url = '', updated_at = now() WHERE id = ?`, id).Error
	})
	if err != nil {
		return err
	}
	return announce(ctx, s.db, tenantChanged(id))
}

// Logo returns the tenant's logo, ErrNotFound when it has none.
func (s *TenantStore) Logo(ctx context.Context, id int64) (Logo, error) {
	var l Logo
	err := s.db.Tenant(ctx, id, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT content_type, data, sha256, updated_at FROM tenant_logos WHERE tenant_id = ?`, id).Take(&l).Error
	})
	return l, notFound(err)
}

// Changed tells every instance that tenant id changed by other means than
// this store (its time zone, which the pipeline sets; see
// pipeline.SetTimeZone).
func (s *TenantStore) Changed(ctx context.Context, id int64) error {
	return announce(ctx, s.db, tenantChanged(id))
}

// updateOwn sets columns of tenant id in its own scope (a tenant admin's
// settings) and tells every instance's caches.
func (s *TenantStore) updateOwn(ctx context.Context, id int64, set string, values ...any) error {
	own := func(ctx context.Context, fn func(tx *gorm.DB) error) error { return s.db.Tenant(ctx, id, fn) }
	return s.update(ctx, own, "", id, set, values...)
}
