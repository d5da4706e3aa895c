package auth

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// ClientRole is the role an API client's requests run with: a client sees
// the whole tenant, as its admins do (the same scoping path as theirs),
// and its scopes limit what it may ask for.
const ClientRole = models.RoleTenantAdmin

// ClientAccess is the API client a bearer request acts for, with the
// scopes of its token.
type ClientAccess struct {
	ID       int64 // api_clients.id
	ClientID string
	Name     string
	Scopes   []string
}

// Has reports whether the token carries scope.
func (a *ClientAccess) Has(scope string) bool { return slices.Contains(a.Scopes, scope) }

type clientLocal struct{}

// Client returns the API client a request acts for, or nil when it is a
// person's (a session) or anonymous.
func Client(c *fiber.Ctx) *ClientAccess {
	a, _ := c.Locals(clientLocal{}).(*ClientAccess)
	return a
}

// ActAsClient makes the request one of API client a in the request's
// tenant: its user is a stand-in with ClientRole named after the client
// (the audit log's actor is "api-client:<client id>").
func ActAsClient(c *fiber.Ctx, a *ClientAccess) {
	c.Locals(clientLocal{}, a)
	setUser(c, &models.User{TenantID: Tenant(c).ID, Email: "api-client:" + a.ClientID, Name: a.Name + " (API client)",
		Role: ClientRole, Status: models.UserActive})
}

// ThrottleWait is how long client address ip must wait before it may try
// another secret: the sign-in's per-address throttle, which API client
// secrets share.
func (a *Authenticator) ThrottleWait(c *fiber.Ctx, ip string) (int, error) {
	failures, since, err := a.Throttle.Failures(c.UserContext(), ip)
	if err != nil {
		return 0, err
	}
	wait := ipDelay(failures) - since
	if wait <= 0 {
		return 0, nil
	}
	return max(1, int((wait+999_999_999)/1_000_000_000)), nil
}

// RecordSecretFailure counts a wrong client secret from ip against the
// per-address throttle.
func (a *Authenticator) RecordSecretFailure(c *fiber.Ctx, ip string) error {
	return a.Throttle.RecordFailure(c.UserContext(), ip)
}
