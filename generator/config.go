package generator

import (
	"fmt"
	"strings"
	"time"
)

// Config says how much to generate.
type Config struct {
	Seed        uint64
	Learners    int       // total people in the roster, including managers
	Depth       int       // levels of the hierarchy (e.g. 5)
	Courses     int       // catalog size (e.g. 40)
	Required    int       // how many courses are required (compliance), e.g. 6
	Statements  int       // approximate number of xAPI statements to send
	Months      int       // history length ending now (e.g. 12)
	EmailDomain string    // e.g. "acme.test"
	TimeZone    string    // IANA zone of the tenant, for weekday/hour rhythms
	Now         time.Time // "now" (tests pass a fixed time)
	BatchSize   int       // statements per StoreStatements call (default 1000)
	// Named people who must exist, by email → role in the hierarchy:
	// ManagerEmail must be a manager whose subtree (direct+indirect reports) has 20–100 people;
	// LearnerEmail must be a non-manager with a rich history (several courses: completed, in progress, a failed then passed assessment, a required course).
	ManagerEmail, LearnerEmail string
	// ManagerName and LearnerName are the display names of the named
	// people; by default they come from the email ("ana.lopez@…" → "Ana
	// Lopez", "manager@…" → a first name and "Manager").
	ManagerName, LearnerName string
	// Refreshers lets people retake an optional course they took before
	// once everyone has run out of new ones, so that a large Statements
	// is reached (each person otherwise takes each optional course at
	// most once, which caps a tenant near 150 statements per person).
	Refreshers bool
	// Progress, when set, is called after each stored batch.
	Progress func(sent, total int)
}

// Summary reports what was generated.
type Summary struct {
	Learners, Managers, Courses, Required, Statements, Voided int
	// ManagerSubtree is how many people report to ManagerEmail directly or
	// indirectly, along solid and dotted lines (the rows org_closure holds
	// for them).
	ManagerSubtree int
	// ManagerEmail and LearnerEmail are the named people (chosen by the
	// generator when the config left them empty).
	ManagerEmail, LearnerEmail string
	// EnrollmentRows is the number of rows of the historical enrolments file.
	EnrollmentRows int
	// Refreshers is how many enrolments retake a course (Config.Refreshers).
	Refreshers int
}

// Acme is the recommended configuration of the large demo tenant: about
// 2,000 people in five levels, 40 courses of which 6 are required, and
// about 300,000 statements over 12 months, in London.
func Acme(now time.Time) Config {
	return Config{
		Seed: 20240601, Learners: 2000, Depth: 5, Courses: 40, Required: 6, Statements: 300_000, Months: 12,
		EmailDomain: "acme.test", TimeZone: "Europe/London", Now: now, BatchSize: 1000,
		ManagerEmail: "manager@acme.test", LearnerEmail: "learner@acme.test",
		ManagerName: "Max Manager", LearnerName: "Lee Learner",
	}
}

// Globex is the recommended configuration of the small demo tenant: about
// 300 people in four levels, 24 courses of which 4 are required, and about
// 30,000 statements over 12 months, in New York.
func Globex(now time.Time) Config {
	return Config{
		Seed: 19890412, Learners: 300, Depth: 4, Courses: 24, Required: 4, Statements: 30_000, Months: 12,
		EmailDomain: "globex.test", TimeZone: "America/New_York", Now: now, BatchSize: 1000,
		ManagerEmail: "manager@globex.test", LearnerEmail: "learner@globex.test",
	}
}

// maxCourses is the size of the built-in catalog.
var maxCourses = len(requiredCatalog) + len(onboardingCatalog) + len(electiveCatalog)

// normalize fills in defaults and checks the config.
func (c Config) normalize() (Config, *time.Location, error) {
	if c.Depth == 0 {
		c.Depth = 5
	}
	if c.Courses == 0 {
		c.Courses = 40
	}
	if c.Months == 0 {
		c.Months = 12
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.EmailDomain == "" {
		c.EmailDomain = "example.test"
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.Statements == 0 {
		c.Statements = 150 * c.Learners
	}
	if c.Now.IsZero() {
		c.Now = time.Now().UTC().Truncate(time.Minute)
	}
	c.EmailDomain = strings.ToLower(c.EmailDomain)
	c.ManagerEmail = strings.ToLower(strings.TrimSpace(c.ManagerEmail))
	c.LearnerEmail = strings.ToLower(strings.TrimSpace(c.LearnerEmail))
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return c, nil, fmt.Errorf("generator: time zone %q: %w", c.TimeZone, err)
	}
	switch {
	case c.Depth < 2 || c.Depth > 8:
		return c, nil, fmt.Errorf("generator: depth %d: use 2 to 8 levels", c.Depth)
	case c.Learners < 4*c.Depth:
		return c, nil, fmt.Errorf("generator: %d learners are too few for %d levels (at least %d)", c.Learners, c.Depth, 4*c.Depth)
	case c.Learners > 200_000:
		return c, nil, fmt.Errorf("generator: %d learners: at most 200000", c.Learners)
	case c.Required < 0 || c.Required > len(requiredCatalog):
		return c, nil, fmt.Errorf("generator: %d required courses: use 0 to %d", c.Required, len(requiredCatalog))
	case c.Courses < c.Required || c.Courses < 1 || c.Courses > maxCourses:
		return c, nil, fmt.Errorf("generator: %d courses: use %d to %d", c.Courses, max(1, c.Required), maxCourses)
	case c.Months < 1 || c.Months > 60:
		return c, nil, fmt.Errorf("generator: %d months of history: use 1 to 60", c.Months)
	case c.Statements < 0:
		return c, nil, fmt.Errorf("generator: %d statements", c.Statements)
	case c.BatchSize < 1 || c.BatchSize > 5000:
		return c, nil, fmt.Errorf("generator: batch size %d: use 1 to 5000", c.BatchSize)
	case c.ManagerEmail != "" && c.ManagerEmail == c.LearnerEmail:
		return c, nil, fmt.Errorf("generator: the manager and the learner need different emails")
	}
	for _, e := range []string{c.ManagerEmail, c.LearnerEmail} {
		if e != "" && (strings.Count(e, "@") != 1 || strings.HasPrefix(e, "@") || !strings.Contains(e[strings.Index(e, "@"):], ".")) {
			return c, nil, fmt.Errorf("generator: %q is not an email address", e)
		}
	}
	return c, loc, nil
}
