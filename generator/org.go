package generator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// person is one member of the roster.
type person struct {
	idx, level int
	parent     int   // solid-line manager, -1 for the top
	reports    []int // direct solid-line reports
	dotted     []int // dotted-line managers
	branch     int   // the level-1 ancestor (the person themself at level 1), -1 at the top
	spanWeight float64

	dept, loc, title                string
	first, last, name, email, empID string
	hire                            time.Time // local midnight of the hire date

	leaver  bool
	leftAt  time.Time // last day of work, for leavers
	mover   bool      // changed team during the history
	movedAt time.Time // local midnight of the move
	// The team before the move.
	oldParent int
	oldDept   string

	account    bool    // the LMS identifies them by employee id, not email
	engagement float64 // how much optional learning they do (1 = typical)
	ability    float64 // chance of answering a question right
	role       string  // "manager" or "learner" for the named people
}

func (p *person) manages() bool { return len(p.reports) > 0 }

// activeAt reports whether the person works at the tenant at t.
func (p *person) activeAt(t time.Time) bool {
	return !t.Before(p.hire) && (!p.leaver || !t.After(p.leftAt))
}

// until is the last moment the person can learn: now, or when they left.
func (p *person) until(now time.Time) time.Time {
	if p.leaver && p.leftAt.Before(now) {
		return p.leftAt
	}
	return now
}

// org is the generated roster.
type org struct {
	people           []*person
	manager, learner int // the named people
	managerSubtree   int
	hq               string
}

// levelSizes splits n people into depth levels that grow geometrically from
// one person at the top, the last level taking the remainder.
func levelSizes(n, depth int) []int {
	lo, hi := 1.0, float64(n)
	for range 100 {
		r := (lo + hi) / 2
		sum, term := 0.0, 1.0
		for range depth {
			sum += term
			term *= r
		}
		if sum > float64(n) {
			hi = r
		} else {
			lo = r
		}
	}
	sizes := make([]int, depth)
	used := 0
	term := 1.0
	for k := range depth - 1 {
		sizes[k] = max(1, int(math.Round(term)))
		if k > 0 {
			sizes[k] = max(sizes[k], sizes[k-1]) // at least one report each is possible
		}
		used += sizes[k]
		term *= lo
	}
	// Not more than ten top executives: push the rest a level down.
	if depth >= 3 && sizes[1] > len(departments) {
		extra := sizes[1] - len(departments)
		sizes[1] -= extra
		sizes[2] += extra
	}
	sizes[depth-1] = n - used
	for sizes[depth-1] < sizes[depth-2] && depth > 2 {
		// Rounding left too few at the bottom: take from the level above.
		sizes[depth-2]--
		sizes[depth-1]++
	}
	return sizes
}

func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) float64) T {
	total := 0.0
	for _, it := range items {
		total += weight(it)
	}
	x := r.Float64() * total
	for _, it := range items {
		x -= weight(it)
		if x < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

func deptByName(name string) *department {
	for i := range departments {
		if departments[i].name == name {
			return &departments[i]
		}
	}
	return nil
}

// buildOrg generates the hierarchy, people and their attributes.
func buildOrg(r *rand.Rand, cfg Config, loc *time.Location) (*org, error) {
	o := &org{manager: -1, learner: -1}
	o.hq = "London"
	for _, l := range locations {
		if l.zone == cfg.TimeZone {
			o.hq = l.name
			break
		}
	}
	sizes := levelSizes(cfg.Learners, cfg.Depth)
	add := func(level, parent int) *person {
		p := &person{idx: len(o.people), level: level, parent: parent, branch: -1, oldParent: -1}
		o.people = append(o.people, p)
		if parent >= 0 {
			o.people[parent].reports = append(o.people[parent].reports, p.idx)
		}
		return p
	}
	pickLoc := func(remoteBoost float64) string {
		return pickWeighted(r, locations, func(l location) float64 {
			w := l.weight
			if l.name == o.hq {
				w *= 1.6
			}
			if l.name == "Remote" {
				w *= remoteBoost
			}
			return w
		}).name
	}

	vpDepts := map[string]bool{}
	ceo := add(0, -1)
	ceo.dept, ceo.loc, ceo.title = "Executive", o.hq, "Chief Executive Officer"
	ceo.spanWeight = 1

	// Level 1: the executive team, one department each (or, with two
	// levels only, everyone reports to the top).
	if cfg.Depth == 2 {
		for range sizes[1] {
			p := add(1, 0)
			d := pickWeighted(r, departments, func(d department) float64 { return d.weight })
			p.dept, p.loc, p.branch = d.name, pickLoc(1), p.idx
		}
	} else {
		for i := range sizes[1] {
			vpDepts[departments[i%len(departments)].name] = true
		}
		for i := range sizes[1] {
			p := add(1, 0)
			p.dept = departments[i%len(departments)].name
			p.loc = pickLoc(0.2)
			p.branch = p.idx
			p.spanWeight = departments[i%len(departments)].weight
		}
	}

	// Levels 2 and below: each person gets a manager on the level above.
	var levelStart []int
	levelStart = append(levelStart, 0, 1)
	for k := 2; k < cfg.Depth; k++ {
		levelStart = append(levelStart, len(o.people))
		var parents []int
		for i := levelStart[k-1]; i < levelStart[k]; i++ {
			if o.people[i].title == "" || k-1 <= 1 { // not marked as an individual contributor
				parents = append(parents, i)
			}
		}
		weights := make([]float64, len(parents))
		for i, pi := range parents {
			weights[i] = o.people[pi].spanWeight
		}
		var assign []int
		for i, n := range allocate(sizes[k], weights) {
			for range n {
				assign = append(assign, parents[i])
			}
		}
		for _, pi := range assign {
			par := o.people[pi]
			p := add(k, pi)
			p.branch = par.branch
			p.spanWeight = 0.6 + 0.8*r.Float64()
			// Department: mostly the branch's, sometimes a related one
			// without an executive of its own (Marketing under Sales).
			switchP := 0.03
			if par.level == 1 {
				switchP = 0.2
			}
			p.dept = par.dept
			if d := deptByName(par.dept); d != nil && r.Float64() < switchP {
				var homeless []string
				for _, rel := range d.related {
					if !vpDepts[rel] {
						homeless = append(homeless, rel)
					}
				}
				if len(homeless) > 0 {
					p.dept = homeless[r.IntN(len(homeless))]
				}
			}
			// Location: mostly the manager's.
			stay := 0.75
			if k == cfg.Depth-1 {
				stay = 0.7
			}
			if r.Float64() < stay {
				p.loc = par.loc
			} else {
				p.loc = pickLoc(1 + float64(k)/2)
			}
			// A few people on the middle levels are senior individual
			// contributors without reports.
			if k < cfg.Depth-1 && k >= 2 && r.Float64() < 0.08 {
				p.title = seniorICTitles[p.dept]
			}
		}
	}

	// Titles.
	for _, p := range o.people {
		if p.level == 0 {
			continue
		}
		d := deptByName(p.dept)
		switch {
		case p.level == 1 && cfg.Depth >= 3:
			p.title = vpTitles[p.dept]
		case p.manages():
			switch (cfg.Depth - 2) - p.level {
			case 0:
				if r.Float64() < 0.3 {
					p.title = d.stem + " Team Lead"
				} else {
					p.title = d.stem + " Manager"
				}
			case 1:
				p.title = "Director of " + d.stem
			case 2:
				p.title = "Senior Director, " + d.stem
			default:
				p.title = "VP " + d.stem
			}
		case p.level < cfg.Depth-1:
			p.title = seniorICTitles[p.dept]
		default:
			p.title = pickWeighted(r, d.ics, func(t string) float64 {
				for i, u := range d.ics {
					if u == t {
						return 3 / float64(i+1)
					}
				}
				return 1
			})
		}
	}

	// Hire dates over about eight years, more of them recent (growth).
	today := dayOf(cfg.Now, loc)
	for _, p := range o.people {
		var days int
		switch {
		case p.level == 0:
			days = 8*365 - r.IntN(60)
		default:
			lo := 0.0
			if p.level == 1 {
				lo = 0.35
			} else if p.manages() {
				lo = 0.12
			}
			x := lo + (1-lo)*r.Float64()
			days = 1 + int(2920*math.Pow(x, 1.35))
		}
		p.hire = today.AddDate(0, 0, -days)
		// Most people start on a Monday.
		if wd := p.hire.Weekday(); wd == time.Saturday || wd == time.Sunday || r.Float64() < 0.75 {
			next := p.hire.AddDate(0, 0, (8-int(wd))%7)
			if next.After(today) {
				next = next.AddDate(0, 0, -7)
			}
			p.hire = next
		}
		p.engagement = math.Exp(r.NormFloat64() * 0.6)
		p.ability = min(0.995, max(0.6, 0.93+r.NormFloat64()*0.05))
		p.account = r.Float64() < 0.2
	}

	start := today.AddDate(0, -cfg.Months, 0)
	// Leavers and team moves, among individual contributors.
	for _, p := range o.people {
		if p.manages() || p.level < 2 && cfg.Depth > 2 || p.level == 0 {
			continue
		}
		x := r.Float64()
		switch {
		case x < 0.04:
			from := maxTime(p.hire.AddDate(0, 0, 45), start)
			to := today.AddDate(0, 0, -5)
			if from.Before(to) {
				p.leaver = true
				p.leftAt = from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(time.Hour)
				p.leftAt = endOfWorkday(p.leftAt, loc)
			}
		case x < 0.08 && cfg.Depth > 2:
			from := maxTime(p.hire, start).AddDate(0, 0, 30)
			to := today.AddDate(0, 0, -20)
			par := o.people[p.parent]
			var peers []int
			for _, q := range o.people {
				if q.level == par.level && q.idx != par.idx && q.manages() && (q.branch == par.branch || r.Float64() < 0.3) {
					peers = append(peers, q.idx)
				}
			}
			if from.Before(to) && len(peers) > 0 {
				p.mover = true
				p.movedAt = dayOf(from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))), loc)
				p.oldParent = peers[r.IntN(len(peers))]
				p.oldDept = o.people[p.oldParent].dept
			}
		}
	}

	// Dotted lines to a manager in another branch.
	var managers []int
	for _, p := range o.people {
		if p.manages() && p.level >= 1 {
			managers = append(managers, p.idx)
		}
	}
	for _, p := range o.people {
		if p.level < 2 || p.leaver || r.Float64() >= 0.05 {
			continue
		}
		var cands []int
		for _, m := range managers {
			q := o.people[m]
			if q.branch != p.branch && q.level < p.level {
				cands = append(cands, m)
			}
		}
		if len(cands) > 0 {
			p.dotted = []int{cands[r.IntN(len(cands))]}
		}
	}

	o.chooseNamed(r, cfg, start)
	if err := o.name(r, cfg); err != nil {
		return nil, err
	}
	// Employee ids in hiring order, with gaps like a real HR system.
	order := make([]*person, len(o.people))
	copy(order, o.people)
	slices.SortStableFunc(order, func(a, b *person) int { return a.hire.Compare(b.hire) })
	next := 10000
	for _, p := range order {
		next += 1 + r.IntN(3)
		p.empID = fmt.Sprintf("E%05d", next)
	}
	return o, nil
}

// subtreeSizes counts, for each person, everyone below them along solid
// and dotted lines, as org_closure does.
func (o *org) subtreeSizes() []int {
	below := make([][]int, len(o.people))
	for _, p := range o.people {
		if p.parent >= 0 {
			below[p.parent] = append(below[p.parent], p.idx)
		}
		for _, d := range p.dotted {
			below[d] = append(below[d], p.idx)
		}
	}
	sizes := make([]int, len(o.people))
	seen := make([]int, len(o.people))
	for i := range seen {
		seen[i] = -1
	}
	for _, p := range o.people {
		if len(below[p.idx]) == 0 {
			continue
		}
		stack := append([]int(nil), below[p.idx]...)
		n := 0
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[x] == p.idx || x == p.idx {
				continue
			}
			seen[x] = p.idx
			n++
			stack = append(stack, below[x]...)
		}
		sizes[p.idx] = n
	}
	return sizes
}

// solidSubtree lists everyone below m along solid lines.
func (o *org) solidSubtree(m int) []int {
	var out []int
	stack := append([]int(nil), o.people[m].reports...)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, x)
		stack = append(stack, o.people[x].reports...)
	}
	slices.Sort(out)
	return out
}

// chooseNamed picks the named manager (20–100 people below them, as close
// to 45 as there is) and the named learner (an established individual
// contributor in that manager's team).
func (o *org) chooseNamed(r *rand.Rand, cfg Config, start time.Time) {
	sizes := o.subtreeSizes()
	best, bestScore := -1, math.MaxFloat64
	for _, p := range o.people {
		if !p.manages() || p.leaver || p.level == 0 {
			continue
		}
		s := float64(sizes[p.idx])
		score := math.Abs(s - 45)
		if s < 20 {
			score = 1000 + 20 - s
		} else if s > 100 {
			score = 1000 + s - 100
		}
		if score < bestScore {
			best, bestScore = p.idx, score
		}
	}
	if best < 0 {
		best = 0
	}
	o.manager, o.managerSubtree = best, sizes[best]
	o.people[best].role = "manager"
	o.people[best].mover = false
	o.people[best].dotted = nil
	if d := o.people[best].hire; d.After(start.AddDate(-2, 0, 0)) {
		o.people[best].hire = start.AddDate(-2, 0, -r.IntN(400))
	}

	eligible := func(p *person) bool {
		return !p.manages() && !p.leaver && p.role == "" && p.level > 0
	}
	var cands, fallback []int
	for _, i := range o.solidSubtree(best) {
		if p := o.people[i]; eligible(p) {
			cands = append(cands, i)
		}
	}
	for _, p := range o.people {
		if eligible(p) {
			fallback = append(fallback, p.idx)
		}
	}
	if len(cands) == 0 {
		cands = fallback
	}
	l := o.people[cands[r.IntN(len(cands))]]
	l.role = "learner"
	l.mover, l.account = false, false
	l.engagement = max(l.engagement, 1.3)
	if l.hire.After(start.AddDate(-1, 0, 0)) {
		l.hire = start.AddDate(-1, -r.IntN(18), -r.IntN(28))
	}
	o.learner = l.idx
}

// name gives everyone a name, an email and their named emails.
func (o *org) name(r *rand.Rand, cfg Config) error {
	used := map[string]bool{}
	named := map[int]string{}
	if e := cfg.ManagerEmail; e != "" {
		named[o.manager] = e
		used[e] = true
	}
	if e := cfg.LearnerEmail; e != "" {
		named[o.learner] = e
		used[e] = true
	}
	for _, p := range o.people {
		if e, ok := named[p.idx]; ok {
			display := cfg.ManagerName
			if p.role == "learner" {
				display = cfg.LearnerName
			}
			p.email = e
			p.first, p.last = nameFromEmail(r, e, display)
			p.name = p.first + " " + p.last
			continue
		}
		p.first = firstNames[r.IntN(len(firstNames))]
		p.last = lastNames[r.IntN(len(lastNames))]
		p.name = p.first + " " + p.last
		base := emailLocal(p.first) + "." + emailLocal(p.last)
		email := base + "@" + cfg.EmailDomain
		for n := 2; used[email]; n++ {
			email = fmt.Sprintf("%s%d@%s", base, n, cfg.EmailDomain)
		}
		used[email] = true
		p.email = email
	}
	return nil
}

func emailLocal(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r == '-':
			return '-'
		}
		return -1
	}, s)
}

// nameFromEmail returns the first and last name of a named person: the
// display name when given, "ana.lopez@" → Ana Lopez, "manager@" → a first
// name with the same initial and "Manager".
func nameFromEmail(r *rand.Rand, email, display string) (string, string) {
	if f := strings.Fields(display); len(f) >= 2 {
		return f[0], strings.Join(f[1:], " ")
	} else if len(f) == 1 {
		return f[0], lastNames[r.IntN(len(lastNames))]
	}
	local := email[:strings.IndexByte(email, '@')]
	parts := strings.FieldsFunc(local, func(c rune) bool { return c == '.' || c == '_' || c == '-' || c == '+' })
	for i, s := range parts {
		parts[i] = titleCase(s)
	}
	switch len(parts) {
	case 0:
		return firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	case 1:
		var same []string
		for _, f := range firstNames {
			if f[0] == parts[0][0] {
				same = append(same, f)
			}
		}
		if len(same) == 0 {
			same = firstNames
		}
		return same[r.IntN(len(same))], parts[0]
	}
	return parts[0], strings.Join(parts[1:], " ")
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	b := []byte(strings.ToLower(s))
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// allocate splits n into len(weights) parts proportional to the weights
// (largest remainders), each at least 1 while n allows.
func allocate(n int, weights []float64) []int {
	out := make([]int, len(weights))
	if len(weights) == 0 {
		return out
	}
	base := 0
	if n >= len(weights) {
		base = 1
	}
	rest := n - base*len(weights)
	total := 0.0
	for _, w := range weights {
		total += w
	}
	type rem struct {
		i int
		f float64
	}
	var rems []rem
	used := 0
	for i, w := range weights {
		x := float64(rest) * w / total
		out[i] = base + int(x)
		used += int(x)
		rems = append(rems, rem{i, x - float64(int(x))})
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.f > b.f:
			return -1
		case a.f < b.f:
			return 1
		}
		return 0
	})
	for k := 0; used < rest; k++ {
		out[rems[k%len(rems)].i]++
		used++
	}
	return out
}

// dayOf is local midnight of t's day.
func dayOf(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// endOfWorkday is 17:30 local on t's day.
func endOfWorkday(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 17, 30, 0, 0, loc)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
