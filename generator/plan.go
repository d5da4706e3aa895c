package generator

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// gen holds everything generated for one config.
type gen struct {
	cfg               Config
	loc               *time.Location
	now, today, start time.Time
	r                 *rand.Rand
	org               *org
	courses           []*course
	campaigns         map[int][]time.Time // required course → campaign starts
	plans             []*plan
	taken             map[[2]int]bool      // (person, course) pairs with an optional enrolment or old unfinished one
	lastDone          map[[2]int]time.Time // completions in the historical enrolments file
	history           []historyRow
	failCourse        int // the named learner's failed-then-passed course
	refreshers        int // enrolments that retake a course (Config.Refreshers)
	detail            float64
	buf               []tev
	lang, platform    string
}

// historyRow is one row of the historical enrolments file (dates are local
// midnights; zero when empty).
type historyRow struct {
	p, c                              int
	enrolled, started, completed, due time.Time
	score                             float64 // < 0: none
	passed                            int8    // -1 none, 0 failed, 1 passed
}

// newPlan draws how an enrolment goes.
func (g *gen) newPlan(p, c int, at time.Time, why reason) *plan {
	r := g.r
	pl := &plan{p: p, c: c, at: at.Truncate(time.Millisecond), reason: why, seed: r.Uint64()}
	per, co := g.org.people[p], g.courses[c]
	x := r.Float64()
	var notStarted, abandon float64
	switch why {
	case reasonElective, reasonAssigned:
		pl.self = why == reasonElective
		notStarted = 0.03
		if !pl.self {
			notStarted = 0.12
		}
		abandon = min(0.5, (0.1+0.25*min(1, float64(co.spec.minutes)/240))/math.Sqrt(per.engagement))
		pl.startDelay = days(lognormal(r, 3, 1.2))
		pl.delay = days(lognormal(r, 1+float64(co.spec.minutes)/30, 1.0))
	case reasonOnboarding:
		notStarted, abandon = 0.02, 0.03
		if co.required {
			notStarted, abandon = g.mandatoryMisses(per)
		}
		pl.startDelay = days(lognormal(r, 0.4, 1.2))
		pl.delay = days(lognormal(r, 2, 1.0))
	default: // campaign, recertification
		notStarted, abandon = g.mandatoryMisses(per)
		pl.startDelay = days(lognormal(r, 1.5, 1.5))
		pl.delay = days(lognormal(r, 1, 1.0))
	}
	if co.required && !g.lagging(per) {
		// Teams that keep up finish required training within a few
		// weeks, before it is due (30 days at the soonest), retaking a
		// failed assessment until they pass; the long tail of late
		// starters and of people who give up is the lagging teams'.
		pl.startDelay, pl.delay = min(pl.startDelay, days(14)), min(pl.delay, days(10))
		pl.persist = true
	}
	pl.startDelay = min(pl.startDelay, days(240))
	pl.delay = min(pl.delay, days(240))
	switch {
	case x < notStarted:
		pl.outcome = outNotStarted
	case x < notStarted+abandon:
		pl.outcome = outAbandon
		pl.progress = 0.1 + 0.75*r.Float64()
	}
	return pl
}

// completion runs a plan's timeline and returns when it completed (zero if
// it did not by now).
func (g *gen) completion(pl *plan) time.Time {
	evs, done := g.timeline(pl, g.buf)
	g.buf = evs
	return done
}

func (g *gen) count(pl *plan, d float64) int {
	evs, _ := g.timeline(pl, g.buf)
	g.buf = evs
	c := g.courses[pl.c]
	return emit(evs, len(c.modules), len(c.questions), d, nil)
}

func (g *gen) between(lo, hi time.Time) time.Time {
	if !lo.Before(hi) {
		return lo
	}
	return lo.Add(time.Duration(g.r.Int64N(int64(hi.Sub(lo)))))
}

// planCampaigns schedules each required course's annual compliance
// campaign: the compliance calendar spreads them over the year (the first
// about nine months before now, the last about two), each repeated every
// 12 months back through the history, each starting on a Tuesday at 9.
func (g *gen) planCampaigns() {
	span := g.today.Sub(g.start)
	var req []*course
	for _, c := range g.courses {
		if c.required {
			req = append(req, c)
		}
	}
	g.campaigns = map[int][]time.Time{}
	for k, c := range req {
		frac := 0.75
		if len(req) > 1 {
			frac -= 0.6 * float64(k) / float64(len(req)-1)
		}
		var ts []time.Time
		for t := g.today.Add(-time.Duration(frac * float64(span))); !t.Before(g.start.AddDate(0, 0, 7)); t = t.AddDate(-1, 0, 0) {
			d := dayOf(t, g.loc)
			for d.Weekday() != time.Tuesday {
				d = d.AddDate(0, 0, 1)
			}
			ts = append(ts, d.Add(9*time.Hour))
		}
		slices.Reverse(ts)
		g.campaigns[c.idx] = ts
	}
}

// planHistory makes the historical enrolments file: about one person in ten
// hired before the history has older completions (and a few unfinished
// courses) from the previous LMS.
func (g *gen) planHistory() {
	r := g.r
	hi := g.start.AddDate(0, 0, -3)
	for _, p := range g.org.people {
		if p.role != "" || !p.hire.Before(g.start.AddDate(0, 0, -30)) || r.Float64() >= 0.1 {
			continue
		}
		lo := maxTime(p.hire.AddDate(0, 0, 14), g.start.AddDate(0, -20, 0))
		if !lo.Before(hi) {
			continue
		}
		day := func() time.Time { return dayOf(g.between(lo, hi), g.loc) }
		var optional []int
		for _, c := range g.courses {
			switch {
			case c.appliesTo(p) && r.Float64() < 0.8:
				done := day()
				row := historyRow{p: p.idx, c: c.idx, completed: done, score: -1, passed: -1}
				row.enrolled = maxTime(dayOf(p.hire, g.loc), done.AddDate(0, 0, -r.IntN(30)))
				row.started = g.between(row.enrolled, done.Add(time.Hour))
				row.started = dayOf(row.started, g.loc)
				if r.Float64() < 0.5 {
					row.due = row.enrolled.AddDate(0, 0, c.req.dueDays)
				}
				if c.spec.passMark > 0 {
					row.score = math.Round(100*min(1, c.spec.passMark+(1-c.spec.passMark)*r.Float64())) / 100
					row.passed = 1
				}
				g.history = append(g.history, row)
				g.lastDone[[2]int{p.idx, c.idx}] = done
			case c.onboarding && !p.hire.Before(lo) && r.Float64() < 0.6:
				en := dayOf(p.hire, g.loc)
				done := en.AddDate(0, 0, r.IntN(20))
				g.history = append(g.history, historyRow{p: p.idx, c: c.idx, enrolled: en, started: en, completed: done, score: -1, passed: -1})
			case !c.required && !c.onboarding && c.launched.IsZero():
				optional = append(optional, c.idx)
			}
		}
		for k := 0; k < 1+r.IntN(2) && len(optional) > 0; k++ {
			i := r.IntN(len(optional))
			c := g.courses[optional[i]]
			optional = slices.Delete(optional, i, i+1)
			en := day()
			row := historyRow{p: p.idx, c: c.idx, enrolled: en, score: -1, passed: -1}
			if r.Float64() < 0.7 {
				row.started = en.AddDate(0, 0, r.IntN(3))
				row.completed = row.started.AddDate(0, 0, r.IntN(40))
				if row.completed.After(hi) {
					row.completed = hi
				}
				if row.started.After(row.completed) {
					row.started = row.completed
				}
				if c.spec.passMark > 0 {
					row.score = math.Round(100*min(1, c.spec.passMark+(1-c.spec.passMark)*r.Float64())) / 100
					row.passed = 1
				}
			} else {
				// Assigned by a manager with a deadline, never finished:
				// overdue ever since.
				if r.Float64() < 0.5 {
					row.started = en.AddDate(0, 0, r.IntN(5))
				}
				row.due = en.AddDate(0, 0, 30+15*r.IntN(4))
			}
			g.history = append(g.history, row)
			g.taken[[2]int{p.idx, c.idx}] = true
		}
	}
}

func deptIndex(name string) int {
	for i, d := range departments {
		if d.name == name {
			return i + 1
		}
	}
	return 0
}

// lagging says whether p's team is one of the few (about one in seven)
// that fall behind on required training: their people skip campaigns and
// leave them unfinished far more often.
func (g *gen) lagging(p *person) bool {
	return p.parent >= 0 && p.parent%7 == 3
}

// mandatoryMisses are the chances that p never starts, or starts and
// abandons, a required course they were assigned. They are small outside
// the lagging teams, so the overdue people cluster in those few teams
// (the story a compliance officer expects) rather than one or two in
// most teams.
func (g *gen) mandatoryMisses(p *person) (notStarted, abandon float64) {
	if g.lagging(p) {
		return 0.15, 0.1
	}
	return 0.002, 0.002
}

// campaignUptake is the share of p's team that takes part in a compliance
// campaign.
func (g *gen) campaignUptake(p *person) float64 {
	if g.lagging(p) {
		return 0.55
	}
	return 0.998
}

// firstDay is a new hire's first morning: onboarding is assigned then.
func (g *gen) firstDay(p *person) time.Time {
	d := p.hire
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(9*time.Hour + time.Duration(g.r.IntN(90*60))*time.Second)
}

// planMandatory plans onboarding for new hires and the required training:
// at hire, in each campaign (unless still valid), and when a completion is
// about to expire (for most people).
func (g *gen) planMandatory() {
	r := g.r
	for _, p := range g.org.people {
		until := p.until(g.now)
		var first time.Time
		if !p.hire.Before(g.start) && p.hire.Before(g.now) {
			first = g.firstDay(p)
			if !first.Before(until) {
				first = time.Time{}
			}
		}
		if !first.IsZero() {
			for _, c := range g.courses {
				if c.onboarding {
					pl := g.newPlan(p.idx, c.idx, first.Add(time.Duration(r.IntN(120))*time.Second), reasonOnboarding)
					g.plans = append(g.plans, pl)
				}
			}
		}
		for _, c := range g.courses {
			if !c.appliesTo(p) {
				continue
			}
			last := g.lastDone[[2]int{p.idx, c.idx}]
			open := false
			add := func(pl *plan) {
				g.plans = append(g.plans, pl)
				if done := g.completion(pl); !done.IsZero() {
					last = done
				} else {
					open = true
				}
			}
			if !first.IsZero() {
				add(g.newPlan(p.idx, c.idx, first.Add(time.Duration(r.IntN(120))*time.Second), reasonOnboarding))
			}
			for _, t := range g.campaigns[c.idx] {
				// The campaign rolls out department by department over
				// three weeks.
				t = t.AddDate(0, 0, 7*(deptIndex(p.dept)%3))
				if open || !p.activeAt(t) || p.hire.After(t.AddDate(0, 0, -30)) {
					continue
				}
				need := last.IsZero() || c.req.recertify > 0 && last.Before(t.AddDate(0, 3-c.req.recertify, 0))
				// Most teams take part; a few lagging ones often do not,
				// so the overdue people cluster in those teams.
				if !need || p.role != "learner" && r.Float64() >= g.campaignUptake(p) {
					continue
				}
				pl := g.newPlan(p.idx, c.idx, t.Add(time.Duration(r.IntN(900))*time.Second), reasonCampaign)
				if p.role == "learner" {
					pl.outcome, pl.keep = outComplete, true
					pl.startDelay, pl.delay = min(pl.startDelay, days(3)), min(pl.delay, days(10))
					if c.idx == g.failCourse {
						pl.failFirst = true
						pl.startDelay = min(pl.startDelay, days(5))
					}
				}
				add(pl)
			}
			for c.req.recertify > 0 && !last.IsZero() && !open {
				reg := last.AddDate(0, c.req.recertify, -(14 + r.IntN(30)))
				if reg.Before(g.start) || !reg.Before(g.now) || reg.Before(last.AddDate(0, 2, 0)) || !p.activeAt(reg) || r.Float64() >= 0.6 {
					break
				}
				at := g.workTime(r, reg, dayOf(reg, g.loc))
				if !at.Before(until) {
					break
				}
				add(g.newPlan(p.idx, c.idx, at, reasonRecert))
			}
		}
	}
}

// optionalCourses lists the courses people choose (or are assigned by
// their manager), in catalog order.
func (g *gen) optionalCourses() []*course {
	var out []*course
	for _, c := range g.courses {
		if !c.required && !c.onboarding {
			out = append(out, c)
		}
	}
	return out
}

// planNamed gives the named learner and manager their curated history: the
// learner completes several courses, has one in progress and one not
// started, and (in planMandatory) fails a required assessment once before
// passing it.
func (g *gen) planNamed() {
	r := g.r
	span := g.now.Sub(g.start)
	at := func(frac float64) time.Time {
		t := g.start.Add(time.Duration(frac * float64(span)))
		return g.workTime(r, t, dayOf(t, g.loc))
	}
	byAffinity := func(p *person, pred func(*course) bool) []*course {
		var cs []*course
		for _, c := range g.optionalCourses() {
			if !g.taken[[2]int{p.idx, c.idx}] && pred(c) {
				cs = append(cs, c)
			}
		}
		slices.SortStableFunc(cs, func(a, b *course) int {
			x, y := a.affinity(p)*a.weight, b.affinity(p)*b.weight
			switch {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return 0
		})
		return cs
	}
	add := func(p *person, c *course, t time.Time, why reason, out outcome) *plan {
		pl := g.newPlan(p.idx, c.idx, t, why)
		pl.outcome, pl.keep = out, true
		pl.startDelay, pl.delay = min(pl.startDelay, days(3)), min(pl.delay, days(10))
		if out == outAbandon {
			pl.progress = 0.5
		}
		g.plans = append(g.plans, pl)
		g.taken[[2]int{p.idx, c.idx}] = true
		return pl
	}

	l := g.org.people[g.org.learner]
	if g.failCourse < 0 {
		// No required assessment: fail and pass an optional one.
		if cs := byAffinity(l, func(c *course) bool { return c.spec.passMark > 0 }); len(cs) > 0 {
			pl := add(l, cs[0], at(0.3), reasonElective, outComplete)
			pl.failFirst = true
			g.failCourse = cs[0].idx
		}
	}
	cs := byAffinity(l, func(c *course) bool { return c.launched.IsZero() })
	for i, frac := range []float64{0.12, 0.42, 0.7} {
		if i < len(cs) {
			add(l, cs[i], at(frac+0.05*r.Float64()), reasonElective, outComplete)
		}
	}
	if len(cs) > 3 {
		// In progress: started a couple of weeks ago, half done.
		best := 3
		for i := 3; i < len(cs); i++ {
			if len(cs[i].modules) >= 4 {
				best = i
				break
			}
		}
		t := g.today.AddDate(0, 0, -(9 + r.IntN(8)))
		add(l, cs[best], g.workTime(r, t, t), reasonElective, outAbandon)
		cs = slices.Delete(cs, best, best+1)
	}
	if len(cs) > 3 {
		t := g.today.AddDate(0, 0, -4)
		add(l, cs[3], g.workTime(r, t, t), reasonAssigned, outNotStarted)
	}

	m := g.org.people[g.org.manager]
	lead := byAffinity(m, func(c *course) bool { return c.spec.category == "Leadership" && c.launched.IsZero() })
	for i, frac := range []float64{0.25, 0.6} {
		if i < len(lead) {
			add(m, lead[i], at(frac), reasonElective, outComplete)
		}
	}
}

// uniform01 maps a seed to [0, 1).
func uniform01(seed uint64) float64 { return float64(seed>>11) / (1 << 53) }

// fitBudget chooses the detail level so that required and onboarding
// training take at most about 60% of the statements, thinning it out only
// when even a low detail does not fit.
func (g *gen) fitBudget(budget int) int {
	total := func(d float64) int {
		n := 0
		for _, pl := range g.plans {
			n += g.count(pl, d)
		}
		return n
	}
	d := 1.0
	n := total(d)
	for range 4 {
		if float64(n) <= 0.6*float64(budget) || d <= 0.25 {
			break
		}
		d = max(0.25, d*0.6*float64(budget)/float64(n))
		n = total(d)
	}
	if float64(n) > 0.9*float64(budget) {
		q := 0.85 * float64(budget) / float64(n)
		kept := g.plans[:0]
		for _, pl := range g.plans {
			if pl.keep || uniform01(pl.seed) < q {
				kept = append(kept, pl)
			}
		}
		g.plans = kept
	}
	g.detail = d
	n = 0
	for _, pl := range g.plans {
		pl.count = g.count(pl, d)
		n += pl.count
	}
	return n
}

// electiveTime draws a moment for an optional enrolment in c: adoption
// grows over the history, a new course has a launch wave, and the
// new-year break and August are quiet.
func (g *gen) electiveTime(c *course) time.Time {
	r := g.r
	from := g.start
	if c.launched.After(from) {
		from = c.launched
	}
	span := g.now.Sub(from)
	if c.spec.recent && r.Float64() < 0.55 {
		if t := from.Add(days(r.ExpFloat64() * 18)); t.Before(g.now) {
			return t
		}
	}
	for {
		t := from.Add(time.Duration(r.Float64() * float64(span)))
		f := 0.6 + 0.4*float64(t.Sub(g.start))/float64(g.now.Sub(g.start))
		if lt := t.In(g.loc); holiday(lt) || lt.Month() == time.December && lt.Day() > 20 {
			f *= 0.3
		} else if lt.Month() == time.August {
			f *= 0.75
		}
		if r.Float64() < f {
			return t
		}
	}
}

// planElectives adds optional enrolments until the statements reach the
// budget.
func (g *gen) planElectives(total, budget int) int {
	r := g.r
	opt := g.optionalCourses()
	if len(opt) == 0 {
		return total
	}
	maxAff := make([]float64, len(g.courses))
	for _, c := range opt {
		for _, p := range g.org.people {
			maxAff[c.idx] = max(maxAff[c.idx], c.affinity(p))
		}
	}
	people := g.org.people
	// No optional course reaches more than about 60% of the people, while
	// others have room.
	filled := make([]int, len(g.courses))
	for k := range g.taken {
		filled[k[1]]++
	}
	room := 0.6 * float64(len(people))
	weight := func(c *course) float64 { return c.weight * max(0, 1-float64(filled[c.idx])/room) }
	retake := false
	for fails := 0; total < budget; {
		if fails >= 2000 {
			if !g.cfg.Refreshers || retake {
				break
			}
			// Everyone has taken what they would: on with refreshers.
			retake, fails, room = true, 0, math.Inf(1)
		}
		sum := 0.0
		for _, c := range opt {
			sum += weight(c)
		}
		if sum < 1e-3*float64(len(opt)) {
			room = math.Inf(1) // every course is full: fill on
		}
		c := pickWeighted(r, opt, weight)
		t := g.electiveTime(c)
		var p *person
		for range 400 {
			q := people[r.IntN(len(people))]
			w := min(q.engagement, 4) * c.affinity(q) / (4 * maxAff[c.idx])
			if r.Float64() < w && q.activeAt(t) && (retake || !g.taken[[2]int{q.idx, c.idx}]) {
				p = q
				break
			}
		}
		if p == nil {
			fails++
			continue
		}
		why := reasonElective
		if r.Float64() < 0.15 {
			why = reasonAssigned
		}
		at := g.workTime(r, t, dayOf(t, g.loc))
		if !at.Before(p.until(g.now)) || at.Before(p.hire) {
			fails++
			continue
		}
		if g.taken[[2]int{p.idx, c.idx}] {
			g.refreshers++
		}
		pl := g.newPlan(p.idx, c.idx, at, why)
		pl.count = g.count(pl, g.detail)
		g.plans = append(g.plans, pl)
		g.taken[[2]int{p.idx, c.idx}] = true
		filled[c.idx]++
		total += pl.count
	}
	return total
}
