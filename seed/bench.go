package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// BenchOptions say what `learnlens seed --bench` makes: Tenants tenants
// named <Prefix>001…, each with Learners people and about Statements
// statements, loaded Parallel tenants at a time. Ingest sends the
// statements through the ingest path (pipeline.StoreStatements, in
// batches of 1,000) instead of the bulk load. Direct, when not nil, is the
// schema owner's pool, which the bulk load copies bronze and the events
// straight into their tables with when its login bypasses Row Level
// Security (pipeline.BulkOptions.Direct; a private cluster's superuser
// does).
type BenchOptions struct {
	Tenants, Learners, Statements int
	Prefix                        string
	Parallel                      int
	Ingest                        bool
	Direct                        *pgxpool.Pool
	Writers                       int // connections writing a tenant's statements; 0: 2, or 1 when tenants load in parallel
}

// Bench creates large data sets for benchmarks: the imports (roster,
// catalog, requirements, historical enrolments) through pipeline.Import as
// an admin's uploads, then the statements by pipeline.BulkStore — bronze
// and learning events by COPY, silver and gold by the tenant-wide rebuild,
// which gives the rows the ingest path would (seed's tests compare them)
// — or, with Ingest, through the ingest path itself. People retake
// courses (refreshers) when that is what reaching Statements takes. A
// tenant that already exists is left as it is, so an interrupted run can
// be resumed. Rough cost on 2 cores: see docs/PERFORMANCE.md, "Large
// tenants".
func Bench(ctx context.Context, db *database.DB, out io.Writer, o BenchOptions) error {
	// 12 learners fill the generator's three levels (benchTenant's depth
	// below 200), four a level: fewer failed after the tenant was made,
	// and a resumed run then skipped it, empty.
	if o.Tenants < 1 || o.Learners < 12 || o.Statements < 1 {
		return errors.New("seed --bench needs --tenants ≥ 1, --learners ≥ 12 and --statements ≥ 1")
	}
	// A load's writers each hold a connection until all are done: the
	// app's pool (20) must hold two tenants' writers and their main
	// transactions.
	if o.Writers > 8 {
		return errors.New("seed --bench takes at most 8 --writers")
	}
	if o.Prefix == "" {
		o.Prefix = "bench"
	}
	if o.Parallel < 1 {
		o.Parallel = 2
	}
	if o.Direct != nil {
		bypass, err := pipeline.BypassesRLS(ctx, o.Direct)
		if err != nil {
			return err
		}
		if !bypass {
			fmt.Fprintln(out, "the owner's login does not bypass row level security: the statements go through temporary tables")
			o.Direct = nil
		}
	}
	// Two connections write each tenant's statements, one each when two
	// tenants load at once: the machine's two cores either way.
	if o.Writers < 1 {
		if o.Writers = 2; min(o.Parallel, o.Tenants) > 1 {
			o.Writers = 1
		}
	}
	tenants := models.NewTenantStore(db)
	p := pipeline.New(db)
	now := time.Now().Truncate(time.Hour)
	jobs := make(chan int)
	errs := make(chan error, o.Tenants)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < o.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := benchTenant(ctx, tenants, p, now, o, i, &mu, out); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 1; i <= o.Tenants; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return errors.Join(collectErrors(errs)...)
}

func benchTenant(ctx context.Context, tenants *models.TenantStore, p *pipeline.Pipeline, now time.Time, o BenchOptions, i int, mu *sync.Mutex, out io.Writer) error {
	slug := fmt.Sprintf("%s%03d", o.Prefix, i)
	if _, err := tenants.BySlug(ctx, slug); err == nil {
		return nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	domain := slug + ".test"
	t, err := tenants.Create(ctx, models.NewTenant{Slug: slug, Name: fmt.Sprintf("Bench %03d", i), TimeZone: "Europe/London",
		Domains: []models.TenantDomain{{Kind: models.DomainEmail, Domain: domain}}})
	if err != nil {
		return err
	}
	// A tenant whose seeding fails is deleted, so that running the command
	// again makes it afresh instead of skipping it half made.
	if err := fillBenchTenant(ctx, p, now, o, i, t, mu, out); err != nil {
		ctx := context.WithoutCancel(ctx)
		if derr := tenants.SetStatus(ctx, t.ID, models.TenantSuspended); derr != nil {
			return errors.Join(err, derr)
		}
		_, derr := tenants.Delete(ctx, t.ID, slug, models.Creator{Email: "learnlens seed --bench"}, "", "")
		return errors.Join(err, derr)
	}
	return nil
}

func fillBenchTenant(ctx context.Context, p *pipeline.Pipeline, now time.Time, o BenchOptions, i int, t models.Tenant, mu *sync.Mutex, out io.Writer) error {
	slug, domain := t.Slug, t.Slug+".test"
	depth := 5
	if o.Learners < 200 {
		depth = 3
	}
	cfg := generator.Config{
		Seed: uint64(i), Learners: o.Learners, Depth: depth, Courses: 40, Required: 6, Statements: o.Statements,
		Months: 12, EmailDomain: domain, TimeZone: "Europe/London", Now: now, BatchSize: 1000, Refreshers: true,
	}
	start := time.Now()
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, slug+": "+format+"\n", args...)
	}
	if o.Ingest {
		last := time.Now()
		cfg.Progress = func(sent, total int) {
			// Only large tenants take long enough to need a progress line.
			if time.Since(last) >= 30*time.Second {
				last = time.Now()
				say("%d of %d statements (%.0f/s)", sent, total, float64(sent)/time.Since(start).Seconds())
			}
		}
		sum, err := generator.Populate(ctx, p, t.ID, cfg)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", slug, err)
		}
		secs := time.Since(start).Seconds()
		say("%d people, %d statements through the ingest path in %.0f s (%.0f statements/s)",
			sum.Learners, sum.Statements, secs, float64(sum.Statements)/secs)
		return nil
	}
	ds, err := generator.GenerateStream(cfg)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", slug, err)
	}
	planned := time.Since(start)
	if err := generator.ImportFiles(ctx, p, t.ID, ds.Files); err != nil {
		return fmt.Errorf("tenant %s: %w", slug, err)
	}
	imported := time.Since(start) - planned
	loading := time.Now()
	res, err := p.BulkStore(ctx, t.ID, ds.Authority(), func(yield func([]byte) error) error {
		_, _, err := ds.Each(yield)
		return err
	}, pipeline.BulkOptions{Direct: o.Direct, Writers: o.Writers, Progress: func(n int) {
		say("%d of about %d statements (%.0f/s)", n, ds.Summary.Statements, float64(n)/time.Since(loading).Seconds())
	}})
	if err != nil {
		return fmt.Errorf("tenant %s: %w", slug, err)
	}
	secs := time.Since(start).Seconds()
	refreshers := ""
	if ds.Summary.Refreshers > 0 {
		refreshers = fmt.Sprintf(" (%d enrolments are refreshers, people retaking a course, to reach the statements asked for)", ds.Summary.Refreshers)
	}
	how := "through temporary tables"
	if res.Direct {
		how = "by COPY into the tables"
	}
	how += fmt.Sprintf(" on %d connection", res.Writers)
	if res.Writers > 1 {
		how += "s"
	}
	say("%d people, %d statements (%d asked) in %.0f s (%.0f statements/s): plan %.1f s, imports %.1f s, "+
		"bronze and events %.1f s (%.0f/s, %s), silver %.1f s, gold %.1f s%s",
		ds.Summary.Learners, res.Statements, o.Statements, secs, float64(res.Statements)/secs, planned.Seconds(), imported.Seconds(),
		res.Load.Seconds(), float64(res.Statements)/res.Load.Seconds(), how, res.Silver.Seconds(), res.Gold.Seconds(), refreshers)
	return nil
}

func collectErrors(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
