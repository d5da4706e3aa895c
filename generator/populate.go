package generator

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/xapi"
)

// File is one generated import file.
type File struct {
	Kind imports.Kind
	Name string
	Data []byte
}

// Dataset is everything generated for a Config, ready to send.
type Dataset struct {
	Config  Config  // with defaults filled in
	Files   []File  // in import order
	Summary Summary // what Populate reports (before anything is stored)
	g       *gen
	recs    []rec
}

// Generate makes the data for cfg without touching a database.
func Generate(cfg Config) (*Dataset, error) {
	g, err := newGen(cfg)
	if err != nil {
		return nil, err
	}
	recs, voided := g.buildStatements()
	ds := &Dataset{Config: g.cfg, g: g, recs: recs, Files: g.files(), Summary: g.summary()}
	ds.Summary.Statements, ds.Summary.Voided = len(recs), voided
	return ds, nil
}

// newGen draws the organisation, the catalog and every enrolment of cfg;
// the statements follow from the plans alone.
func newGen(cfg Config) (*gen, error) {
	cfg, loc, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	fmt.Fprint(h, cfg.Now.UTC().UnixNano())
	g := &gen{
		cfg: cfg, loc: loc, now: cfg.Now,
		taken: map[[2]int]bool{}, lastDone: map[[2]int]time.Time{}, failCourse: -1,
	}
	g.today = dayOf(cfg.Now, loc)
	g.start = g.today.AddDate(0, -cfg.Months, 0)
	g.lang = "en-GB"
	if strings.HasPrefix(cfg.TimeZone, "America/") {
		g.lang = "en-US"
	}
	label := strings.SplitN(cfg.EmailDomain, ".", 2)[0]
	g.platform = titleCase(label) + " Learning"

	// The organisation and catalog depend on the seed alone; the activity
	// also on now.
	orgRand := rand.New(rand.NewPCG(cfg.Seed, 0x0c0ffee))
	if g.org, err = buildOrg(orgRand, cfg, loc); err != nil {
		return nil, err
	}
	g.courses = buildCatalog(orgRand, cfg, g.org, g.today)
	g.r = rand.New(rand.NewPCG(cfg.Seed, h.Sum64()))

	learner := g.org.people[g.org.learner]
	for _, pass := range []func(*course) bool{
		func(c *course) bool { return c.spec.passMark > 0 && len(c.questions) > 0 },
		func(c *course) bool { return c.spec.passMark > 0 },
	} {
		for _, c := range g.courses {
			if g.failCourse < 0 && c.appliesTo(learner) && pass(c) {
				g.failCourse = c.idx
			}
		}
	}
	g.planCampaigns()
	g.planHistory()
	g.planMandatory()
	g.planNamed()
	budget := cfg.Statements - int(float64(cfg.Statements)*voidShare*1.7)
	total := g.fitBudget(budget)
	g.planElectives(total, budget)
	return g, nil
}

// files are the import files, in import order.
func (g *gen) files() []File {
	return []File{
		{imports.KindCourses, "course-catalog.csv", g.coursesCSV()},
		{imports.KindRoster, "hr-roster-" + date(g.start) + ".csv", g.rosterCSV(false)},
		{imports.KindRoster, "hr-roster-" + date(g.today) + ".csv", g.rosterCSV(true)},
		{imports.KindRequirements, "compliance-requirements.csv", g.requirementsCSV()},
		{imports.KindEnrollments, "lms-history.csv", g.enrollmentsCSV()},
	}
}

// summary is what was generated, but for the statements.
func (g *gen) summary() Summary {
	learner := g.org.people[g.org.learner]
	s := Summary{
		Learners: len(g.org.people), Courses: len(g.courses), Required: g.cfg.Required,
		ManagerSubtree: g.org.managerSubtree,
		ManagerEmail:   g.org.people[g.org.manager].email, LearnerEmail: learner.email,
		EnrollmentRows: len(g.history), Refreshers: g.refreshers,
	}
	for _, p := range g.org.people {
		if p.manages() {
			s.Managers++
		}
	}
	return s
}

// Batches is the number of statement batches.
func (d *Dataset) Batches() int {
	return (len(d.recs) + d.Config.BatchSize - 1) / d.Config.BatchSize
}

// Batch returns the i-th batch of statements as a JSON array, as an LMS
// would POST it.
func (d *Dataset) Batch(i int) ([]byte, error) {
	bs := d.Config.BatchSize
	lo, hi := i*bs, min(len(d.recs), (i+1)*bs)
	var b bytes.Buffer
	b.WriteByte('[')
	for k := lo; k < hi; k++ {
		if k > lo {
			b.WriteByte(',')
		}
		js, err := d.g.statementJSON(d.recs[k])
		if err != nil {
			return nil, err
		}
		b.Write(js)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// Authority is the agent the statements are stored under: the LMS's
// connector.
func (d *Dataset) Authority() xapi.Agent { return authority(d.Config.EmailDomain) }

func authority(domain string) xapi.Agent {
	return xapi.Agent{ObjectType: "Agent", Name: "LMS connector",
		AccountHomePage: "https://lms." + domain, AccountName: "lms-connector"}
}

// Populate generates the roster, catalog, compliance requirements and historical enrolments (as CSV files fed to
// pipeline.Import, exactly as an admin's upload would be) and then xAPI statements (as JSON, parsed with
// xapi.ParseStatements and stored with pipeline.StoreStatements in batches), for tenantID.
func Populate(ctx context.Context, p *pipeline.Pipeline, tenantID int64, cfg Config) (Summary, error) {
	ds, err := Generate(cfg)
	if err != nil {
		return Summary{}, err
	}
	return ds.Summary, ds.Send(ctx, p, tenantID)
}

// Send imports the files and stores the statements of d for tenantID.
func (d *Dataset) Send(ctx context.Context, p *pipeline.Pipeline, tenantID int64) error {
	if err := ImportFiles(ctx, p, tenantID, d.Files); err != nil {
		return err
	}
	auth := d.Authority()
	for i := range d.Batches() {
		if err := ctx.Err(); err != nil {
			return err
		}
		body, err := d.Batch(i)
		if err != nil {
			return err
		}
		stmts, err := xapi.ParseStatements(body)
		if err != nil {
			return fmt.Errorf("generator: batch %d does not parse: %w", i, err)
		}
		if _, err := p.StoreStatements(ctx, pipeline.StatementBatch{TenantID: tenantID, Authority: auth, Statements: stmts}); err != nil {
			return fmt.Errorf("generator: store batch %d of %d: %w", i+1, d.Batches(), err)
		}
		if d.Config.Progress != nil {
			d.Config.Progress(min(len(d.recs), (i+1)*d.Config.BatchSize), len(d.recs))
		}
	}
	return nil
}

// ImportFiles feeds the generated import files to pipeline.Import for
// tenantID, all or nothing each, as an admin's uploads would be.
func ImportFiles(ctx context.Context, p *pipeline.Pipeline, tenantID int64, files []File) error {
	for _, f := range files {
		rep, err := p.Import(ctx, pipeline.ImportRequest{TenantID: tenantID, Kind: f.Kind, Filename: f.Name, Data: f.Data,
			Mode: pipeline.ModeAllOrNothing, UploadedBy: "generator"})
		if err != nil {
			return fmt.Errorf("generator: import %s: %w", f.Name, err)
		}
		if rep.Outcome != "applied" || len(rep.Errors) > 0 {
			msg := rep.Summary()
			if len(rep.Errors) > 0 {
				msg += ": " + rep.Errors[0].Error()
			}
			return fmt.Errorf("generator: import %s: %s", f.Name, msg)
		}
	}
	return nil
}
