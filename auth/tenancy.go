package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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

// Resolve returns the tenant served at host (which may carry a port). A
// port that is not a number names no tenant.
func (h *Hosts) Resolve(c *fiber.Ctx, host string) (models.Tenant, error) {
	name, _, ok := splitHost(host)
	if !ok {
		return models.Tenant{}, models.ErrNotFound
	}
	name = strings.ToLower(name)
	return h.Cache.tenant(name, func() (models.Tenant, error) { return h.lookup(c.UserContext(), name) })
}

// TenantByID returns tenant id, from the instance's cache when it is
// current (a suspension empties it on every instance), for the doors that
// find the tenant from a credential rather than from the host.
func (h *Hosts) TenantByID(ctx context.Context, id int64) (models.Tenant, error) {
	// Host names never contain '#', so these keys cannot meet a host's.
	return h.Cache.tenant("#"+strconv.FormatInt(id, 10), func() (models.Tenant, error) { return h.Tenants.ByID(ctx, id) })
}

// ActiveTenant returns tenant id, or ErrTenantSuspended when it is
// suspended: every door that does not pass ResolveTenant (xAPI, whose
// credential decides the tenant) goes through it.
func (h *Hosts) ActiveTenant(ctx context.Context, id int64) (models.Tenant, error) {
	t, err := h.TenantByID(ctx, id)
	if err != nil {
		return models.Tenant{}, fmt.Errorf("tenant %d: %w", id, err)
	}
	if t.Suspended() {
		return models.Tenant{}, ErrTenantSuspended
	}
	return t, nil
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
// and port of the current request (whose host is the bare base domain). The
// request's host has been resolved to the platform realm, so its name is
// the base domain and its port a number; the URL is built from those
// checked parts only, never from the raw header, so a host such as
// "localhost:8080@evil.example" cannot turn it into another site's URL.
func (h *Hosts) TenantURL(c *fiber.Ctx, t models.Tenant) string {
	return h.realmURL(c, t.Slug+".")
}

// PlatformURL returns the origin of the bare base domain (the platform
// realm) as seen by the current request: its scheme and port, the base
// domain's name.
func (h *Hosts) PlatformURL(c *fiber.Ctx) string { return h.realmURL(c, "") }

func (h *Hosts) realmURL(c *fiber.Ctx, sub string) string {
	scheme := "http"
	if c.Protocol() == "https" {
		scheme = "https"
	}
	port := ""
	if _, p, ok := splitHost(c.Hostname()); ok && p != "" {
		port = ":" + p
	}
	return fmt.Sprintf("%s://%s%s%s", scheme, sub, h.BaseDomain, port)
}

// splitHost splits a Host header into its name and port; ok is false when
// the port is present but not a number from 1 to 65535, or the name is
// empty or holds characters no host name has.
func splitHost(host string) (name, port string, ok bool) {
	name = host
	if n, p, err := net.SplitHostPort(host); err == nil {
		name, port = n, p
		if v, err := strconv.Atoi(p); err != nil || v < 1 || v > 65535 || strconv.Itoa(v) != p {
			return "", "", false
		}
	}
	if name == "" || strings.ContainsAny(name, "@/\\?#:% \t\r\n") {
		return "", "", false
	}
	return name, port, true
}
