package generator_test

import (
	"context"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

func TestZZAcmeTiming(t *testing.T) {
	if os.Getenv("GEN_BENCH") == "" {
		t.Skip()
	}
	ctx := context.Background()
	db := testdb.New(t)
	tenant, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "acme", Name: "Acme", TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(fixedNow)
	t0 := time.Now()
	ds, err := generator.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generate %v", time.Since(t0))
	t1 := time.Now()
	last := t1
	cfg.Progress = func(sent, total int) {
		if sent <= 80000 && sent%5000 < cfg.BatchSize {
			t.Logf("batch ending %d: %v since start", sent, time.Since(t1).Round(time.Millisecond))
		}
		if sent%20000 < cfg.BatchSize || sent == total {
			t.Logf("%d/%d  %.0f/s (last chunk %.0f/s)", sent, total, float64(sent)/time.Since(t1).Seconds(), 20000/time.Since(last).Seconds())
			last = time.Now()
		}
	}
	ds.Config.Progress = cfg.Progress
	if err := ds.Send(ctx, pipeline.New(db), tenant.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("send %v, total %v, %d statements, %.0f statements/s", time.Since(t1), time.Since(t0), ds.Summary.Statements, float64(ds.Summary.Statements)/time.Since(t0).Seconds())
}

func TestZZImportTiming(t *testing.T) {
	if os.Getenv("GEN_BENCH") == "" {
		t.Skip()
	}
	ctx := context.Background()
	db := testdb.New(t)
	tenant, _ := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "acme", Name: "Acme", TimeZone: "Europe/London"})
	ds, _ := generator.Generate(generator.Acme(fixedNow))
	p := pipeline.New(db)
	for _, f := range ds.Files {
		t0 := time.Now()
		rep, err := p.Import(ctx, pipeline.ImportRequest{TenantID: tenant.ID, Kind: f.Kind, Filename: f.Name, Data: f.Data, Mode: pipeline.ModeAllOrNothing})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s in %v", f.Name, rep.Summary(), time.Since(t0))
	}
}

func TestZZGlobexStats(t *testing.T) {
	if os.Getenv("GEN_BENCH") == "" {
		t.Skip()
	}
	ctx := context.Background()
	db := testdb.New(t)
	tenant, _ := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "globex", Name: "Globex", TimeZone: "America/New_York"})
	t0 := time.Now()
	sum, err := generator.Populate(ctx, pipeline.New(db), tenant.ID, generator.Globex(fixedNow))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v in %v", sum, time.Since(t0))
	for _, q := range []string{
		`SELECT status || ' ' || count(*) FROM enrollments WHERE tenant_id = ? GROUP BY status ORDER BY 1`,
		`SELECT c.title || ': ' || count(*) || ' enrolled, ' || count(*) FILTER (WHERE status='completed') || ' completed, ' || count(*) FILTER (WHERE passed) || ' passed, ' || count(*) FILTER (WHERE NOT passed) || ' failed, median days ' || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - enrolled_at)/86400))::numeric, 1)::text, '-') FROM enrollments e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id WHERE e.tenant_id = ? GROUP BY c.title ORDER BY count(*) DESC`,
		`SELECT c.title || ': ' || count(*) || ' assigned, ' || count(*) FILTER (WHERE completed_at IS NOT NULL AND (expires_on IS NULL OR expires_on >= current_date)) || ' compliant, ' || count(*) FILTER (WHERE expires_on < current_date) || ' expired, ' || count(*) FILTER (WHERE completed_at IS NULL AND due_on < current_date) || ' overdue, ' || count(*) FILTER (WHERE completed_at IS NULL AND due_on >= current_date) || ' not yet due, ' || count(*) FILTER (WHERE expires_on >= current_date AND expires_on < current_date + 30) || ' expiring in 30 days' FROM compliance_assignments a JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id WHERE a.tenant_id = ? GROUP BY c.title`,
		`SELECT department || ' ' || count(*) FROM learners WHERE tenant_id = ? GROUP BY department ORDER BY count(*) DESC`,
		`SELECT to_char(day, 'YYYY-MM') || ' ' || sum(statements) || ' statements, ' || round(sum(minutes)) || ' min, ' || count(DISTINCT learner_id) || ' learners' FROM daily_activity WHERE tenant_id = ? GROUP BY 1 ORDER BY 1`,
		`SELECT l.name || ' | ' || c.title || ' | ' || e.status || ' | ' || coalesce(e.passed::text, '-') || ' | attempts ' || e.attempts || ' | due ' || coalesce(e.due_at::text, '-') FROM enrollments e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id WHERE e.tenant_id = ? AND l.email = 'learner@globex.test' ORDER BY e.enrolled_at`,
	} {
		var out []string
		db.Platform(ctx, func(tx *gorm.DB) error { return tx.Raw(q, tenant.ID).Scan(&out).Error })
		for _, o := range out {
			t.Log(o)
		}
		t.Log("--")
	}
}
