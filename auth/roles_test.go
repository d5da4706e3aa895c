package auth

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// An API client acts as a stand-in with the tenant admin's role; routes
// for people must still refuse it.
func TestPeoplesRoutesRefuseAPITokens(t *testing.T) {
	app := fiber.New()
	asClient := func(c *fiber.Ctx) error {
		setTenant(c, models.Tenant{ID: 1})
		ActAsClient(c, &ClientAccess{ClientID: "probe-client", Scopes: models.Scopes})
		return c.Next()
	}
	ok := func(c *fiber.Ctx) error { return c.SendString("in") }
	app.Get("/admin", asClient, RequireRole(models.RoleTenantAdmin), ok)
	app.Get("/me", asClient, RequireLogin, ok)
	for _, path := range []string{"/admin", "/me"} {
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != fiber.StatusForbidden {
			t.Errorf("%s with an API client: %d, want 403", path, resp.StatusCode)
		}
	}
}
