package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// ErrUnknownHost is returned for a host that serves no tenant.
var ErrUnknownHost = errors.New("no organisation is served at this address")

// ErrTenantSuspended is returned for every page of a suspended tenant.
var ErrTenantSuspended = errors.New("this organisation's LearnLens account is suspended")

// Hosts maps request hosts to tenants: <slug>.<base domain>, a custom domain
// listed in tenant_domains, or the bare base domain for the platform realm.
type Hosts struct {
	Tenants    *models.TenantStore
	BaseDomain string
	Cache      *Cache // nil: read the tenant from PostgreSQL on every request
}

// ResolveTenant is middleware that finds the tenant of the request's host
// and refuses unknown hosts (404) and suspended tenants (403 notice).
func (h *Hosts) ResolveTenant(c *fiber.Ctx) error {
	t, err := h.Resolve(c, c.Hostname())
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrUnknownHost, fiber.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("resolve host: %w", err)
	}
	setTenant(c, t)
	if t.Suspended() {
		return ErrTenantSuspended
	}
	return c.Next()
}

// Resolve returns the tenant served at host (which may carry a port).
func (h *Hosts) Resolve(c *fiber.Ctx, host string) (models.Tenant, error) {
	host = strings.ToLower(stripPort(host))
	return h.Cache.tenant(host, func() (models.Tenant, error) { return h.lookup(c.UserContext(), host) })
}

func (h *Hosts) lookup(ctx context.Context, host string) (models.Tenant, error) {
	switch {
	case host == h.BaseDomain:
		return h.Tenants.Platform(ctx)
	case strings.HasSuffix(host, "."+h.BaseDomain):
		slug := strings.TrimSuffix(host, "."+h.BaseDomain)
		if strings.Contains(slug, ".") {
			return models.Tenant{}, models.ErrNotFound
		}
		return h.Tenants.BySlug(ctx, slug)
	default:
		return h.Tenants.ByDomain(ctx, models.DomainHost, host)
	}
}

// TenantURL returns the root URL of tenant t's own host, keeping the scheme
// and port of the current request (whose host is the bare base domain).
func (h *Hosts) TenantURL(c *fiber.Ctx, t models.Tenant) string {
	port := ""
	if _, p, err := net.SplitHostPort(c.Hostname()); err == nil {
		port = ":" + p
	}
	return fmt.Sprintf("%s://%s.%s%s", c.Protocol(), t.Slug, h.BaseDomain, port)
}

func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}
