// Package seed fills a LearnLens database with demo tenants, users, xAPI
// credentials and learning data.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// DemoPassword is the password of every demo user.
const DemoPassword = "learnlens-demo"

// DemoUser is one demo login.
type DemoUser struct {
	Tenant, Email, Name, Role string
}

// DemoUsers are the demo logins; Tenant "" is the platform realm.
var DemoUsers = []DemoUser{
	{"", "platform@learnlens.test", "Pat Platform", models.RolePlatformAdmin},
	{"acme", "admin@acme.test", "Ada Admin", models.RoleTenantAdmin},
	{"acme", "manager@acme.test", "Max Manager", models.RoleManager},
	{"acme", "analyst@acme.test", "Ana Analyst", models.RoleAnalyst},
	{"acme", "learner@acme.test", "Lee Learner", models.RoleLearner},
	{"globex", "admin@globex.test", "Gus Globex", models.RoleTenantAdmin},
}

var demoTenants = []models.NewTenant{
	{Slug: "acme", Name: "Acme Corp", TimeZone: "Europe/London",
		Domains: []models.TenantDomain{{Kind: models.DomainEmail, Domain: "acme.test"}}},
	{Slug: "globex", Name: "Globex", TimeZone: "America/New_York",
		Domains: []models.TenantDomain{{Kind: models.DomainEmail, Domain: "globex.test"}}},
}

// Demo creates the demo tenants and users unless tenant acme already exists,
// and reports whether it created them.
func Demo(ctx context.Context, db *database.DB) (bool, error) {
	tenants := models.NewTenantStore(db)
	users := models.NewUserStore(db)
	if _, err := tenants.BySlug(ctx, "acme"); err == nil {
		return false, DemoAPIClient(ctx, db)
	} else if !errors.Is(err, models.ErrNotFound) {
		return false, err
	}
	ids := map[string]int64{"": models.PlatformTenantID}
	for _, nt := range demoTenants {
		t, err := tenants.Create(ctx, nt)
		if err != nil {
			return false, err
		}
		ids[nt.Slug] = t.ID
	}
	creds := models.NewCredentialStore(db)
	for _, slug := range []string{"acme", "globex"} {
		if _, err := creds.CreateWithSecret(ctx, ids[slug], "Demo LMS", slug+"-demo-key", slug+"-demo-secret"); err != nil {
			return false, err
		}
	}
	for _, du := range DemoUsers {
		hash, err := auth.HashPassword(DemoPassword)
		if err != nil {
			return false, err
		}
		_, err = users.Create(ctx, ids[du.Tenant], models.NewUser{Email: du.Email, Name: du.Name, Role: du.Role, PasswordHash: hash})
		if err != nil {
			return false, fmt.Errorf("create demo user %s: %w", du.Email, err)
		}
	}
	return true, DemoAPIClient(ctx, db)
}

// The demo API client of acme, with every scope.
const (
	DemoAPIClientID     = "acme-demo-api"
	DemoAPIClientSecret = "acme-demo-api-secret"
)

// DemoAPIClient creates acme's demo API client unless it exists.
func DemoAPIClient(ctx context.Context, db *database.DB) error {
	t, err := models.NewTenantStore(db).BySlug(ctx, "acme")
	if err != nil {
		return err
	}
	clients := models.NewAPIClientStore(db)
	if _, err := clients.ByClientID(ctx, t.ID, DemoAPIClientID); !errors.Is(err, models.ErrNotFound) {
		return err
	}
	_, err = clients.CreateWithSecret(ctx, t.ID, "Demo BI tool", DemoAPIClientID, DemoAPIClientSecret, models.Scopes)
	return err
}

// PrintLogins writes the demo addresses and logins for a server on port.
func PrintLogins(w io.Writer, baseDomain string, port int) {
	fmt.Fprintf(w, "\nLearnLens is running.\n\n")
	fmt.Fprintf(w, "  Acme Corp   http://acme.%s:%d/login\n", baseDomain, port)
	fmt.Fprintf(w, "  Globex      http://globex.%s:%d/login\n", baseDomain, port)
	fmt.Fprintf(w, "  Platform    http://%s:%d/login\n\n", baseDomain, port)
	fmt.Fprintf(w, "  Demo logins (password %q):\n", DemoPassword)
	for _, u := range DemoUsers {
		where := u.Tenant
		if where == "" {
			where = "platform"
		}
		fmt.Fprintf(w, "    %-26s %-15s %s\n", u.Email, u.Role, where)
	}
	fmt.Fprintf(w, "\n  xAPI endpoint  http://%s:%d/xapi/  (HTTP Basic; the credential decides the tenant)\n", baseDomain, port)
	fmt.Fprintf(w, "    acme:   key acme-demo-key     secret acme-demo-secret\n")
	fmt.Fprintf(w, "    globex: key globex-demo-key   secret globex-demo-secret\n\n")
	fmt.Fprintf(w, "  API (acme)     http://acme.%s:%d/api/v1/  (token: POST /api/v1/oauth/token, grant_type=client_credentials)\n", baseDomain, port)
	fmt.Fprintf(w, "    client id %s   secret %s   (every scope)\n\n", DemoAPIClientID, DemoAPIClientSecret)
}

// DemoData fills acme (about 2,000 people, 300,000 statements over the last
// year) and globex (about 300 people) with learning data through the real
// ingest code: roster, catalog, requirements and history imports, then xAPI
// statements. It reports progress to out and does nothing for a tenant that
// already has statements.
func DemoData(ctx context.Context, db *database.DB, out io.Writer) error {
	p := pipeline.New(db)
	tenants := models.NewTenantStore(db)
	now := time.Now().Truncate(time.Hour)
	for _, d := range []struct {
		slug string
		cfg  generator.Config
	}{{"acme", generator.Acme(now)}, {"globex", generator.Globex(now)}} {
		t, err := tenants.BySlug(ctx, d.slug)
		if err != nil {
			return fmt.Errorf("demo tenant %s: %w", d.slug, err)
		}
		if has, err := hasStatements(ctx, db, t.ID); err != nil || has {
			return err
		}
		start := time.Now()
		last := time.Now()
		d.cfg.Progress = func(sent, total int) {
			if time.Since(last) > 5*time.Second || sent == total {
				last = time.Now()
				fmt.Fprintf(out, "  %s: %d of %d statements\n", d.slug, sent, total)
			}
		}
		fmt.Fprintf(out, "loading demo learning data for %s through the ingest pipeline…\n", t.Name)
		sum, err := generator.Populate(ctx, p, t.ID, d.cfg)
		if err != nil {
			return fmt.Errorf("demo data for %s: %w", d.slug, err)
		}
		secs := time.Since(start).Seconds()
		fmt.Fprintf(out, "  %s: %d people, %d courses (%d required), %d statements in %.0f s (%.0f statements/s)\n",
			d.slug, sum.Learners, sum.Courses, sum.Required, sum.Statements, secs, float64(sum.Statements)/secs)
	}
	return nil
}

func hasStatements(ctx context.Context, db *database.DB, tenantID int64) (bool, error) {
	var has bool
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM xapi_statements WHERE tenant_id = $1)`, tenantID).Scan(&has)
	})
	return has, err
}
