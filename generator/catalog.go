package generator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// course is one catalogued course.
type course struct {
	idx        int
	spec       courseSpec
	code, slug string
	iri        string
	required   bool
	onboarding bool
	req        reqSpec // for required courses; department resolved to one that exists
	modules    []module
	questions  []question
	launched   time.Time // available from (zero: before the history)
	weight     float64   // popularity among optional courses
}

type module struct {
	title string
	iri   string
	video bool // "experienced" (watched) rather than "progressed" (worked through)
}

type question struct {
	iri        string
	text       string
	trueFalse  bool
	choices    []string // choice ids a, b, c, d
	correct    string
	difficulty float64 // added to the learner's ability
}

var choiceTexts = []string{
	"Report it straight away through the official channel",
	"Ignore it unless it happens again",
	"Ask a colleague what they would do",
	"Deal with it yourself and tell no one",
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// buildCatalog picks cfg.Courses courses: the required ones first, then
// onboarding, then optional courses across every category.
func buildCatalog(r *rand.Rand, cfg Config, o *org, today time.Time) []*course {
	var specs []courseSpec
	var kinds []string // "required", "onboarding", "elective"
	for _, s := range requiredCatalog[:cfg.Required] {
		specs, kinds = append(specs, s), append(kinds, "required")
	}
	rest := cfg.Courses - cfg.Required
	nOnb := 0
	if rest >= 3 {
		nOnb = min(len(onboardingCatalog), max(1, rest/8))
	}
	for _, s := range onboardingCatalog[:nOnb] {
		specs, kinds = append(specs, s), append(kinds, "onboarding")
	}
	pool := append(append(append([]courseSpec(nil), electiveCatalog...), requiredCatalog[cfg.Required:]...), onboardingCatalog[nOnb:]...)
	for _, s := range pool[:rest-nOnb] {
		specs, kinds = append(specs, s), append(kinds, "elective")
	}

	// The departments that exist, largest first, for requirements limited
	// to a department that this organisation lacks.
	deptSize := map[string]int{}
	for _, p := range o.people {
		deptSize[p.dept]++
	}
	fallbackDept := ""
	for _, d := range departments {
		if d.name != "Engineering" && deptSize[d.name] > deptSize[fallbackDept] {
			fallbackDept = d.name
		}
	}

	seq := map[string]int{}
	start := today.AddDate(0, -cfg.Months, 0)
	var out []*course
	for i, s := range specs {
		prefix := categoryCodes[s.category]
		seq[prefix]++
		c := &course{idx: i, spec: s, slug: slugify(s.title)}
		c.code = fmt.Sprintf("%s-%d", prefix, 100+seq[prefix])
		c.iri = "https://lms." + cfg.EmailDomain + "/courses/" + c.slug
		c.required = kinds[i] == "required"
		c.onboarding = kinds[i] == "onboarding"
		if c.required {
			c.req = s.req
			if c.req.department != "" && deptSize[c.req.department] == 0 {
				c.req.department = fallbackDept
			}
		}
		n := min(12, max(2, (s.minutes+6)/12))
		for m := range n {
			title := moduleTitles[min(m, len(moduleTitles)-2)]
			switch {
			case m == 0:
				title = moduleTitles[0]
			case m == n-1:
				title = moduleTitles[len(moduleTitles)-1]
			}
			c.modules = append(c.modules, module{
				title: title,
				iri:   fmt.Sprintf("%s/modules/%d", c.iri, m+1),
				video: r.Float64() < 0.4,
			})
		}
		for q := range s.questions {
			qq := question{
				iri:        fmt.Sprintf("%s/assessment/q%d", c.iri, q+1),
				text:       fmt.Sprintf("%s: question %d", s.title, q+1),
				trueFalse:  r.Float64() < 0.3,
				difficulty: -0.1 + 0.15*r.Float64(),
			}
			if qq.trueFalse {
				qq.correct = []string{"true", "false"}[r.IntN(2)]
			} else {
				qq.choices = []string{"a", "b", "c", "d"}
				qq.correct = qq.choices[r.IntN(4)]
			}
			c.questions = append(c.questions, qq)
		}
		c.weight = 0.4 + 1.2*r.Float64()
		if s.popular {
			c.weight = 3.5 + r.Float64()
		}
		if s.recent {
			d := 30 + r.IntN(100)
			launch := today.AddDate(0, 0, -d)
			if launch.Before(start.AddDate(0, 0, 14)) {
				launch = start.AddDate(0, 0, 14)
			}
			if launch.Before(today) {
				c.launched = launch
				// Promoted, but only available for part of the history.
				c.weight *= 1.5 * max(0.15, float64(today.Sub(launch))/float64(today.Sub(start)))
			}
		}
		out = append(out, c)
	}
	return out
}

// audience reports whether a required course applies to p.
func (c *course) appliesTo(p *person) bool {
	return c.required && (c.req.department == "" || c.req.department == p.dept)
}

// affinity is how much more likely than average p is to take c.
func (c *course) affinity(p *person) float64 {
	a := 1.0
	leadership := c.spec.category == "Leadership"
	if leadership && !p.manages() {
		a = 0.25
	}
	for _, x := range c.spec.affinity {
		switch {
		case x == "managers" && p.manages():
			a *= 3
		case x == p.dept:
			a *= 3.5
		}
	}
	if len(c.spec.affinity) > 0 && a == 1 {
		a = 0.5
	}
	return a
}
