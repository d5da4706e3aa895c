package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// BenchOptions say what `learnlens seed --bench` makes: Tenants tenants
// named <Prefix>001…, each with Learners people and about Statements
// statements, loaded Parallel tenants at a time.
type BenchOptions struct {
	Tenants, Learners, Statements int
	Prefix                        string
	Parallel                      int
}

// Bench creates large data sets for benchmarks through the real ingest
// path (imports, then xAPI statement batches), so the rows are exactly
// what production ingest produces. A tenant that already exists is left as
// it is, so an interrupted run can be resumed. Rough cost on 2 cores: one
// tenant of 10M statements takes about half an hour; 500 tenants of 2,000
// statements about five minutes.
func Bench(ctx context.Context, db *database.DB, out io.Writer, o BenchOptions) error {
	if o.Tenants < 1 || o.Learners < 10 || o.Statements < 1 {
		return errors.New("seed --bench needs --tenants ≥ 1, --learners ≥ 10 and --statements ≥ 1")
	}
	if o.Prefix == "" {
		o.Prefix = "bench"
	}
	if o.Parallel < 1 {
		o.Parallel = 2
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
	depth := 5
	if o.Learners < 200 {
		depth = 3
	}
	start, last := time.Now(), time.Now()
	sum, err := generator.Populate(ctx, p, t.ID, generator.Config{
		Seed: uint64(i), Learners: o.Learners, Depth: depth, Courses: 40, Required: 6, Statements: o.Statements,
		Months: 12, EmailDomain: domain, TimeZone: "Europe/London", Now: now, BatchSize: 1000,
		Progress: func(sent, total int) {
			// Only large tenants take long enough to need a progress line.
			if time.Since(last) < 30*time.Second {
				return
			}
			last = time.Now()
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(out, "%s: %d of %d statements (%.0f/s)\n", slug, sent, total, float64(sent)/time.Since(start).Seconds())
		},
	})
	if err != nil {
		return fmt.Errorf("tenant %s: %w", slug, err)
	}
	mu.Lock()
	defer mu.Unlock()
	secs := time.Since(start).Seconds()
	fmt.Fprintf(out, "%s: %d people, %d statements in %.0f s (%.0f statements/s)\n",
		slug, sum.Learners, sum.Statements, secs, float64(sum.Statements)/secs)
	return nil
}

func collectErrors(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
