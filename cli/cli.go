// Package cli holds the learnlens subcommands that work on one tenant's
// data: xAPI credentials and limits, imports and gold rebuilds.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// Run runs args ("credentials create …", "import …", "gold rebuild …",
// "silver rebuild …").
func Run(ctx context.Context, db *database.DB, out io.Writer, args []string) error {
	switch args[0] {
	case "credentials":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("usage: learnlens credentials create --tenant SLUG --name NAME")
		}
		return createCredential(ctx, db, out, args[2:])
	case "import":
		return importFile(ctx, db, out, args[1:])
	case "gold", "silver":
		if len(args) < 2 || args[1] != "rebuild" {
			return fmt.Errorf("usage: learnlens %s rebuild --tenant SLUG", args[0])
		}
		return rebuild(ctx, db, out, args[0] == "silver", args[2:])
	case "tenant":
		if len(args) < 2 || args[1] != "xapi-limits" {
			return errors.New(xapiLimitsUsage)
		}
		return setXAPILimits(ctx, db, out, args[2:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func tenantFlag(fs *flag.FlagSet) *string {
	return fs.String("tenant", "", "tenant slug, e.g. acme")
}

func findTenant(ctx context.Context, db *database.DB, slug string) (models.Tenant, error) {
	if slug == "" {
		return models.Tenant{}, errors.New("--tenant is required")
	}
	t, err := models.NewTenantStore(db).BySlug(ctx, slug)
	if errors.Is(err, models.ErrNotFound) {
		return t, fmt.Errorf("no tenant %q", slug)
	}
	return t, err
}

func createCredential(ctx context.Context, db *database.DB, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("credentials create", flag.ContinueOnError)
	slug := tenantFlag(fs)
	name := fs.String("name", "", "who uses the credential, e.g. \"Moodle production\"")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := findTenant(ctx, db, *slug)
	if err != nil {
		return err
	}
	c, secret, err := models.NewCredentialStore(db).Create(ctx, t.ID, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "xAPI credential %q for %s\n  key:    %s\n  secret: %s\n(the secret is not stored and cannot be shown again)\n",
		c.Name, t.Name, c.Key, secret)
	return nil
}

func importFile(ctx context.Context, db *database.DB, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	slug := tenantFlag(fs)
	kindName := fs.String("kind", "", "roster, courses, enrollments or requirements")
	allOrNothing := fs.Bool("all-or-nothing", false, "refuse the whole file if any row is bad (default: apply the valid rows)")
	dryRun := fs.Bool("dry-run", false, "check the file and report what would happen, changing nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: learnlens import --tenant SLUG --kind KIND [--all-or-nothing] [--dry-run] FILE")
	}
	kind, err := imports.ParseKind(*kindName)
	if err != nil {
		return err
	}
	t, err := findTenant(ctx, db, *slug)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	mode := pipeline.ModeValidRows
	if *allOrNothing {
		mode = pipeline.ModeAllOrNothing
	}
	rep, err := pipeline.New(db).Import(ctx, pipeline.ImportRequest{
		TenantID: t.ID, Kind: kind, Filename: filepath.Base(fs.Arg(0)), Data: data, Mode: mode, DryRun: *dryRun, UploadedBy: "cli",
	})
	if err != nil {
		return err
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(out, e.Error())
	}
	fmt.Fprintln(out, rep.Summary())
	if rep.Outcome == "refused" {
		return errors.New("import refused")
	}
	return nil
}

// rebuild recomputes a tenant's gold from silver, after silver's
// aggregates from its learning events when silver is set.
func rebuild(ctx context.Context, db *database.DB, out io.Writer, silver bool, args []string) error {
	name := "gold rebuild"
	if silver {
		name = "silver rebuild"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	slug := tenantFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := findTenant(ctx, db, *slug)
	if err != nil {
		return err
	}
	times, err := pipeline.New(db).Rebuild(ctx, t.ID, silver)
	if err != nil {
		return err
	}
	if silver {
		fmt.Fprintf(out, "rebuilt silver for %s from its learning events in %.1f s\n", t.Name, times.Silver.Seconds())
	}
	fmt.Fprintf(out, "rebuilt gold for %s from silver in %.1f s\n", t.Name, times.Gold.Seconds())
	for _, s := range times.Steps {
		second := ""
		if s.Second {
			second = "  (second connection)"
		}
		fmt.Fprintf(out, "  %-44s %6.2f s%s\n", s.What, s.Took.Seconds(), second)
	}
	return nil
}

const xapiLimitsUsage = "usage: learnlens tenant xapi-limits --tenant SLUG [--rate N] [--burst N] [--concurrency N]"

// setXAPILimits gives a tenant its own limits per xAPI credential:
// requests per second, burst and requests in flight. A flag left out
// means the deployment's XAPI_CREDENTIAL_* setting; 0 means no limit.
func setXAPILimits(ctx context.Context, db *database.DB, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("tenant xapi-limits", flag.ContinueOnError)
	slug := tenantFlag(fs)
	rate := fs.Int("rate", -1, "requests per second per credential (0: no limit)")
	burst := fs.Int("burst", -1, "requests a credential may send at once above the rate")
	concurrency := fs.Int("concurrency", -1, "requests a credential may have in flight (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := findTenant(ctx, db, *slug)
	if err != nil {
		return err
	}
	opt := func(name string, v int) (*int, error) {
		switch {
		case v == -1:
			return nil, nil
		case v < 0:
			return nil, fmt.Errorf("--%s must be 0 or more, not %d", name, v)
		}
		return &v, nil
	}
	var vals [3]*int
	for i, f := range []struct {
		name string
		v    int
	}{{"rate", *rate}, {"burst", *burst}, {"concurrency", *concurrency}} {
		if vals[i], err = opt(f.name, f.v); err != nil {
			return err
		}
	}
	if err := models.NewTenantStore(db).SetXAPILimits(ctx, t.ID, vals[0], vals[1], vals[2]); err != nil {
		return err
	}
	show := func(p *int) string {
		if p == nil {
			return "deployment default"
		}
		return fmt.Sprint(*p)
	}
	fmt.Fprintf(out, "%s: xAPI rate %s/s, burst %s, concurrency %s per credential\n", t.Slug, show(vals[0]), show(vals[1]), show(vals[2]))
	return nil
}
